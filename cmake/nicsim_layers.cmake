# Each layer's library exposes only its own folder: its include root, under the build tree,
# holds one link named after the folder (or after single headers). A target therefore
# includes "hw/..." only when it links nicsim_hw, and the direction of the layers
# (proto <- tlm <- {abi, waves_api} <- {hw, host} <- waves <- tb) is checked by the compiler,
# not by convention: host/ cannot include hw/ or the other way round.
# Installed, every layer's headers sit under include/nicsim/ (cmake/nicsim_install.cmake), so a
# consumer includes <nicsim/hw/nic.h> and nothing else of nicsim lands in its include namespace.
function(nicsim_expose target scope path)
  set(root ${PROJECT_BINARY_DIR}/include/${target})
  get_filename_component(parent ${root}/${path} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${path} ${root}/${path} SYMBOLIC)
  target_include_directories(${target} ${scope} $<BUILD_INTERFACE:${root}> $<INSTALL_INTERFACE:include>)
endfunction()

# A layer library as the package exports it: nicsim_hw is nicsim::hw, in the build tree (an alias,
# for projects that add nicsim with add_subdirectory) and installed.
function(nicsim_export_target target export_name)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
  add_library(nicsim::${export_name} ALIAS ${target})
  set_property(GLOBAL APPEND PROPERTY NICSIM_EXPORTED_TARGETS ${target})
endfunction()
