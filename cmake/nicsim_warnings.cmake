# Warnings are errors in nicsim's own code. Generated (verilated) code lives in
# its own library without these flags.
function(nicsim_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Werror
    -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion
    -Wimplicit-fallthrough -Wformat=2)
  if(NICSIM_SANITIZE)
    # GCC 12's flow analysis reports false maybe-uninitialized warnings inside
    # libstdc++ (std::regex, std::function) once sanitizers change inlining.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
