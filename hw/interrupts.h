#pragma once
// The NIC's interrupt unit: causes and masks (8254x ICR/ICS/IMS/IMC), the extended per-queue
// causes and masks of the 82576 (EICR/EICS/EIMS/EIMC/EIAC/EIAM, GPIE), one moderation block
// per queue (rtl/intr_moderation.v behind hw/intr_moderation_rtl) with the registers that
// program them, and the messages: MSI, or one MSI-X table entry per queue.
#include <cstdint>
#include <deque>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "hw/nic_stats.h"
#include "hw/reg_file.h"
#include "tlm/payload.h"
#include "waves/observer.h"

namespace nicsim::hw {

class intr_moderation_rtl;

class interrupts {
 public:
  // Causes and masks (8254x).
  reg icr, ics, ims, imc;
  // Moderation, applied to every queue's block alike.
  reg itr, rdtr, radv, rxc_usecs, rxc_frames, rxc_mode, rxc_min_interval;
  // The MSI capability (nicsim: in BAR0).
  reg msi_addr_lo, msi_addr_hi, msi_data;
  // Extended causes and masks (82576): bit n is queue n.
  reg gpie, eicr, eics, eims, eimc, eiac, eiam;
  // Per-vector throttles (82576 EITR(n)), read by queue n's block in RXC_MODE itr.
  std::deque<reg> eitr;

  waves::probe messages_sent;  // nic.msi.count

  // Messages go out as posted writes through dma; every one is counted in stats and, for a
  // queue's cause, in queue_stats[queue].
  interrupts(unsigned queues, reg_file& regs, ::tlm::tlm_initiator_socket<>& dma, nic_stats& stats,
             std::vector<nic_queue_stats>& queue_stats);
  ~interrupts();
  interrupts(const interrupts&) = delete;
  interrupts& operator=(const interrupts&) = delete;

  // Queue q wrote frames descriptors back: its cause, and its moderation block decides when
  // to interrupt.
  void queue_done(unsigned q, unsigned frames);
  // TX queue q's cause (after TIDV/TADV): in MSI-X mode queue q's EICR bit through queue q's
  // moderation block, as igb's q_vector holds TX ring q with RX ring q and one EITR paces
  // both. Otherwise ICR.TXDW: in the throttling modes (e1000 ITR, itr) through queue 0's
  // block, as the 8254x's ITR throttles every cause; in the timer and arm modes the MSI
  // goes at once if IMS enables it.
  void tx_done(unsigned q);
  // Latches causes in ICR without a message (RXO: a frame the FIFO had no room for).
  void latch(uint32_t icr_causes);
  bool msix_mode() const;
  // RXC_MODE e1000 or itr: ITR/EITR pace TXDW as well as RXT0.
  bool throttles_every_cause() const;
  // The cause register the driver reads: EICR in MSI-X mode, ICR otherwise.
  uint32_t causes() const;
  intr_moderation_rtl& moderation(unsigned q) { return *m_moderation.at(q); }
  // Drops pending MSI-X messages and resets every moderation block; the registers are the
  // register file's to reset.
  void reset();

 private:
  // One MSI-X table entry: message address, data and vector control, and its pending bit.
  struct msix_vector {
    msix_vector(unsigned n, reg_file& regs);
    reg addr_lo, addr_hi, data, ctrl;
    bool pending = false;  // fired while masked (the PBA bit)
  };

  void write_icr(uint32_t v);
  void write_ics(uint32_t v);
  void write_ims(uint32_t v);
  void write_imc(uint32_t v);
  void write_gpie(uint32_t v);
  void write_eicr(uint32_t v);
  void write_eics(uint32_t v);
  void write_eims(uint32_t v);
  void write_eimc(uint32_t v);
  void write_msix_ctrl(unsigned q, uint32_t v);

  void queue_irq(unsigned q);
  void fire_msix(unsigned q);
  bool send_msi();
  bool post_message(uint64_t addr, uint32_t data);  // false: no address programmed, nothing sent
  void sync_queue_masks();
  template <class F>
  void moderate(F apply);

  ::tlm::tlm_initiator_socket<>& m_dma;
  tlm::payload_pool m_payloads{m_dma};  // the messages' payloads, reused
  nic_stats& m_stats;
  std::vector<nic_queue_stats>& m_queue_stats;
  std::vector<std::unique_ptr<intr_moderation_rtl>> m_moderation;
  std::deque<msix_vector> m_msix;
};

}  // namespace nicsim::hw
