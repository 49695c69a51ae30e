# Warnings are errors in nicsim's own code when nicsim is the project being built (and so in
# CI), never in a project that builds nicsim as a part of its own (add_subdirectory,
# FetchContent): NICSIM_WERROR defaults to PROJECT_IS_TOP_LEVEL. The flags are PRIVATE, so
# nothing of them reaches a target that links nicsim, in the build tree or installed.
# Generated (verilated) code lives in its own library without these flags.
option(NICSIM_WERROR "Treat warnings in nicsim's own code as errors" ${PROJECT_IS_TOP_LEVEL})
function(nicsim_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic
    -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion
    -Wimplicit-fallthrough -Wformat=2)
  if(NICSIM_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(NICSIM_SANITIZE)
    # GCC 12's flow analysis reports false maybe-uninitialized warnings inside
    # libstdc++ (std::regex, std::function) once sanitizers change inlining.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
