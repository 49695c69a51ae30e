# cmake --install BUILD [--prefix PREFIX] gives the nicsim package:
#   PREFIX/lib/cmake/nicsim/     nicsimConfig.cmake, nicsimConfigVersion.cmake, nicsimTargets*.cmake
#   PREFIX/lib/                  libnicsim_*.a: the layers (proto, tlm, rtl with Verilator's runtime
#                                compiled in, hw, host, waves, tb) and nicsim_gtest_main
#   PREFIX/include/nicsim/       every layer's headers, includes rewritten to <nicsim/...>
#   PREFIX/bin/nicsim            the CLI, and PREFIX/share/nicsim/sweep_report.py, where it looks
# A consumer: find_package(nicsim 0.1 REQUIRED) and target_link_libraries(app nicsim::nicsim).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(NICSIM_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/nicsim)

# In the build tree too, <nicsim/tb/testbench.h> names a header, for projects that add nicsim
# with add_subdirectory: one link per layer under build/include/public/nicsim/.
set(NICSIM_LAYERS abi proto tlm hw host waves tb)
foreach(layer ${NICSIM_LAYERS})
  file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/include/public/nicsim)
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${layer} ${PROJECT_BINARY_DIR}/include/public/nicsim/${layer} SYMBOLIC)
endforeach()
target_include_directories(nicsim_tb PUBLIC $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include/public>)

# nicsim's headers are compiled with sc_spawn available (CMakeLists.txt), and so are a consumer's.
target_compile_definitions(nicsim_tlm INTERFACE SC_INCLUDE_DYNAMIC_PROCESSES)

get_property(NICSIM_EXPORTED_TARGETS GLOBAL PROPERTY NICSIM_EXPORTED_TARGETS)
install(TARGETS ${NICSIM_EXPORTED_TARGETS} EXPORT nicsimTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET nicsim)
  # The sweep's report script: bin/nicsim finds it in ../share/nicsim (tb/sweep/results.cpp).
  install(TARGETS nicsim EXPORT nicsimTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/sweep_report.py DESTINATION ${CMAKE_INSTALL_DATADIR}/nicsim)
endif()
install(EXPORT nicsimTargets NAMESPACE nicsim:: DESTINATION ${NICSIM_INSTALL_CMAKEDIR})

# The headers: copies of the source tree's, each `#include "host/...` made `#include
# "nicsim/host/...` (cmake/nicsim_install_headers.cmake), so that nothing but nicsim/ lands in a
# consumer's include path. The tools' headers (sweep, calibrate) and the tests' stay out.
install(CODE "
  set(NICSIM_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
  set(NICSIM_LAYERS \"${NICSIM_LAYERS}\")
  set(NICSIM_HEADER_DEST \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_INCLUDEDIR}/nicsim\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/nicsim_install_headers.cmake\")
")

set(NICSIM_WITH_GTEST_MAIN ${GTest_FOUND})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nicsimConfig.cmake.in
  ${PROJECT_BINARY_DIR}/nicsimConfig.cmake INSTALL_DESTINATION ${NICSIM_INSTALL_CMAKEDIR})
# 0.x: a minor version may change the API, so a consumer asking for 0.1 gets 0.1.x only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nicsimConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nicsimConfig.cmake ${PROJECT_BINARY_DIR}/nicsimConfigVersion.cmake
  DESTINATION ${NICSIM_INSTALL_CMAKEDIR})
