#!/usr/bin/python3
"""The model's UDP receive rate and per-datagram cost against this machine's loopback.

Runs `nicsim calibrate` (unless --costs and --calibration name an earlier one), then
`nicsim run` with the calibrated table on one UDP flow with app.work_ns=0, for 64-byte
and 1472-byte payloads, over offered rates from well below to far above what one CPU
can take. Prints Markdown tables: rates (model vs loopback) and the per-datagram CPU
cost of the pieces both share. docs/calibrate.md explains how to read them.

Usage: /usr/bin/python3 scripts/compare_loopback.py [--nicsim build/tb/nicsim]
           [--seconds 10] [--out-dir build/loopback_compare]
           [--costs FILE.yaml --calibration FILE.json] [--duration-us 20000]
"""
import argparse
import json
import os
import re
import subprocess
import sys

PAYLOADS = [64, 1472]
HEADERS = 14 + 20 + 8 + 4  # Ethernet, IPv4, UDP, FCS
OFFERED_KPPS = [50, 100, 200, 300, 400, 450, 500, 550, 600, 650, 700, 1000]


def load_costs(path):
    """cycles and per_byte of each entry of a host/costs.yaml-format file."""
    entry = re.compile(r"^(\w+):\s*\{cycles:\s*([0-9.eE+-]+)(?:,\s*per_byte:\s*([0-9.eE+-]+))?\s*\}")
    costs = {}
    with open(path) as f:
        for line in f:
            m = entry.match(line)
            if m:
                costs[m.group(1)] = (float(m.group(2)), float(m.group(3) or 0))
    return costs


def run_model(nicsim, costs, ghz, payload, gbps, duration_us, out):
    frame = payload + HEADERS
    args = [nicsim, "run", "--quiet", "--costs", costs, "--json", out,
            "--set", f"host.cpu_ghz={ghz}", "--set", f"traffic.frame_bytes={frame}",
            "--set", f"traffic.rate_gbps={gbps:.6g}", "--set", "app.work_ns=0",
            "--set", f"sim.duration_us={duration_us}"]
    subprocess.run(args, check=True)
    with open(out) as f:
        j = json.load(f)
    sim_s = j["sim"]["sim_time_ns"] * 1e-9
    msgs = j["app"]["messages"]
    cpu = {k: v / j["sim"]["sim_time_ns"] for k, v in j["host"]["cpu_ns"].items()}
    return {
        "offered_gbps": gbps,
        "offered_pps": j["wire"]["frames"] / sim_s,
        "delivered_pps": msgs / sim_s,
        "switches_per_msg": j["host"]["context_switches"] / msgs if msgs else float("nan"),
        "reader_system_ns_per_msg": cpu["system"] * sim_s * 1e9 / msgs if msgs else float("nan"),
        "cpu": cpu,
        "drops": {"RcvbufErrors": j["udp"]["RcvbufErrors"], "rx_missed": j["nic"]["rx_missed"],
                  "softnet_dropped": j["host"]["softnet"]["dropped"]},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nicsim", default="build/tb/nicsim")
    ap.add_argument("--seconds", default="10", help="calibration budget")
    ap.add_argument("--out-dir", default="build/loopback_compare")
    ap.add_argument("--costs", help="a calibrated table (skips calibration, needs --calibration)")
    ap.add_argument("--calibration", help="the JSON written by nicsim calibrate --json")
    ap.add_argument("--duration-us", default="20000")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    if bool(a.costs) != bool(a.calibration):
        sys.exit("compare_loopback: give both --costs and --calibration, or neither")
    if not a.costs:
        a.costs = os.path.join(a.out_dir, "costs.yaml")
        a.calibration = os.path.join(a.out_dir, "calibration.json")
        subprocess.run([a.nicsim, "calibrate", "--seconds", a.seconds, "--out", a.costs,
                        "--json", a.calibration], check=True, stdout=sys.stderr)
    with open(a.calibration) as f:
        cal = json.load(f)
    ghz = round(cal["cpu_ghz"], 3)
    t = load_costs(a.costs)

    def ns(name, nbytes=0):
        cycles, per_byte = t[name]
        return (cycles + per_byte * nbytes) / ghz

    result = {"cpu_ghz": ghz, "costs": a.costs, "calibration": a.calibration, "payloads": {}}
    for payload in PAYLOADS:
        frame = payload + HEADERS
        sweep = []
        for kpps in OFFERED_KPPS:
            gbps = kpps * 1e3 * (frame + 20) * 8 / 1e9
            if gbps > 10:
                break
            sweep.append(run_model(a.nicsim, a.costs, ghz, payload, gbps, a.duration_us,
                                   os.path.join(a.out_dir, f"model_{payload}_{kpps}k.json")))
        sweep.append(run_model(a.nicsim, a.costs, ghz, payload, 10.0, a.duration_us,
                               os.path.join(a.out_dir, f"model_{payload}_line.json")))
        recvfrom = ns("syscall") + ns("recvmsg") + ns("copy_to_user", payload) + ns("kfree_skb")
        to_socket = (ns("netif_rx") + ns("netif_receive_skb") + ns("ip_rcv") + ns("csum", 20) +
                     ns("udp_rcv") + ns("udp_enqueue") + ns("sock_def_readable"))
        wakeup = ns("ttwu") + 2 * ns("context_switch")
        queue = next(q for q in cal["udp_queue_drain"] if q["payload_bytes"] == payload)
        blast = {r["placement"]: r for r in cal["udp_loopback"] if r["payload_bytes"] == payload}
        result["payloads"][payload] = {
            "model_sweep": sweep,
            "model_ns": {"recvfrom": recvfrom, "csum_in_recvmsg": ns("csum", payload + 8),
                         "rx_to_socket": to_socket, "wakeup_and_two_switches": wakeup},
            "real_queue_drain": queue,
            "real_blast": blast,
        }

    # ---- print
    print(f"Calibrated table {a.costs} at {ghz} GHz ({cal['cpu_model']}, {cal['kernel']}, "
          f"load average at calibration {cal['loadavg'].split()[:3]}).\n")
    print("Rates, datagrams/s (k):\n")
    print("| payload | model peak (offered at that point) | model at 10 Gb/s offered | "
          "loopback one CPU, blasting | loopback two CPUs, blasting | loopback one CPU, queue then drain |")
    print("| --- | --- | --- | --- | --- | --- |")
    for payload in PAYLOADS:
        p = result["payloads"][payload]
        peak = max(p["model_sweep"], key=lambda r: r["delivered_pps"])
        line = p["model_sweep"][-1]
        b = p["real_blast"]
        q = p["real_queue_drain"]
        drain = 1e9 / (q["send_cpu_ns_per_dgram"] + q["recv_cpu_ns_per_dgram"])

        def blast_cell(r):
            if r is None:
                return "n/a"
            others = f", others {r['others_busy'] * 100:.0f}%" if r.get("others_busy", -1) >= 0 else ""
            return (f"{r['rate_dgram_s'] / 1e3:.0f} (receiver busy {r['receiver_busy'] * 100:.0f}%"
                    f"{others})")

        print(f"| {payload} B | {peak['delivered_pps'] / 1e3:.0f} ({peak['offered_pps'] / 1e3:.0f}) | "
              f"{line['delivered_pps'] / 1e3:.0f} ({line['offered_pps'] / 1e3:.0f}) | "
              f"{blast_cell(b.get('one_cpu'))} | {blast_cell(b.get('two_cpus'))} | {drain / 1e3:.0f} |")
    print("\nModel delivered vs offered (k datagrams/s), app.work_ns=0:\n")
    for payload in PAYLOADS:
        cells = ", ".join(f"{r['offered_pps'] / 1e3:.0f}→{r['delivered_pps'] / 1e3:.0f}"
                          for r in result["payloads"][payload]["model_sweep"])
        print(f"- {payload} B: {cells}")
    print("\nPer-datagram CPU time, ns:\n")
    print("| | " + " | ".join(f"{p} B" for p in PAYLOADS) + " |")
    print("| --- |" + " --- |" * len(PAYLOADS))

    def row(label, fn):
        print(f"| {label} | " + " | ".join(fn(result['payloads'][p]) for p in PAYLOADS) + " |")

    row("real: recvfrom of a queued datagram (queue then drain)",
        lambda p: f"{p['real_queue_drain']['recv_cpu_ns_per_dgram']:.0f}")
    row("model: syscall + recvmsg + copy_to_user + kfree_skb",
        lambda p: f"{p['model_ns']['recvfrom']:.0f}")
    row("model: + csum in recvmsg (the modeled NIC does not offload; loopback needs none)",
        lambda p: f"{p['model_ns']['csum_in_recvmsg']:.0f}")
    row("real: send (sendto, TX path, and the RX path up to the socket queue)",
        lambda p: f"{p['real_queue_drain']['send_cpu_ns_per_dgram']:.0f}")
    row("model: RX path to the socket (netif_rx … udp_rcv, udp_enqueue, sock_def_readable), no TX",
        lambda p: f"{p['model_ns']['rx_to_socket']:.0f}")
    row("model: a wake-up of the reader (ttwu + 2 × context_switch)",
        lambda p: f"{p['model_ns']['wakeup_and_two_switches']:.0f}")
    row("model: socket path, reader never sleeps (RX to socket + recvfrom)",
        lambda p: f"{p['model_ns']['rx_to_socket'] + p['model_ns']['recvfrom']:.0f}")
    row("model: socket path, reader sleeps per datagram (+ wake-up)",
        lambda p: f"{p['model_ns']['rx_to_socket'] + p['model_ns']['recvfrom'] + p['model_ns']['wakeup_and_two_switches']:.0f}")
    row("real: receiver CPU per datagram, blasting, one CPU (switches/datagram)",
        lambda p: (f"{p['real_blast']['one_cpu']['receiver_cpu_ns_per_dgram']:.0f} "
                   f"({p['real_blast']['one_cpu']['receiver_switches_per_dgram']:.2f})"))
    def per_sleep(p):
        one = p["real_blast"]["one_cpu"]
        extra = one["receiver_cpu_ns_per_dgram"] - p["real_queue_drain"]["recv_cpu_ns_per_dgram"]
        return f"{extra / one['receiver_switches_per_dgram']:.0f}" if one["receiver_switches_per_dgram"] else "n/a"

    def reader_side(p):
        s = p["real_blast"]["one_cpu"]["receiver_switches_per_dgram"]
        return f"{p['model_ns']['recvfrom'] + s * 2 * ns('context_switch'):.0f}"

    row("model: recvfrom + that many sleeps × 2 context switches", reader_side)
    row("real: receiver CPU per sleep = (blasting − queued) / switches, one CPU", per_sleep)
    row("model: two context switches per sleep (ttwu is the waker's)",
        lambda p: f"{2 * ns('context_switch'):.0f}")
    row("model: reader system time per datagram at its peak (switches/datagram)",
        lambda p: (lambda r: f"{r['reader_system_ns_per_msg']:.0f} ({r['switches_per_msg']:.2f})")(
            max(p["model_sweep"], key=lambda r: r["delivered_pps"])))

    out = os.path.join(a.out_dir, "compare.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"\n(all numbers: {out})")


if __name__ == "__main__":
    main()
