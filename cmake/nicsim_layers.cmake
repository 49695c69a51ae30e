# Each layer's library exposes only its own folder: its include root, under the build tree,
# holds one link named after the folder (or after single headers). A target therefore
# includes "hw/..." only when it links nicsim_hw, and the direction of the layers
# (proto <- tlm <- {abi, waves_api} <- {hw, host} <- waves <- tb) is checked by the compiler,
# not by convention: host/ cannot include hw/ or the other way round.
function(nicsim_expose target scope path)
  set(root ${PROJECT_BINARY_DIR}/include/${target})
  get_filename_component(parent ${root}/${path} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${path} ${root}/${path} SYMBOLIC)
  target_include_directories(${target} ${scope} ${root})
endfunction()
