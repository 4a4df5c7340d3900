# liblurn: the whole runtime (core, binding, embedded Lua library, embedding API) for C
# hosts, as liblurn.so and liblurn.a; lurn.so: the same runtime as a Lua C module for stock
# lua5.4; their installation (header, pkg-config file, CMake package); their tests.
# Included at the end of CMakeLists.txt. All of it reuses the objects of lurn_core and
# lurn_lua (compiled position-independent).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

file(GLOB EMBED_SOURCES CONFIGURE_DEPENDS src/embed/*.c)
add_library(lurn_embed_obj OBJECT ${EMBED_SOURCES})
target_include_directories(lurn_embed_obj PRIVATE include src/lua src/core)
target_link_libraries(lurn_embed_obj PRIVATE PkgConfig::LUA PkgConfig::BLAS) # their headers

set(LURN_RUNTIME_OBJECTS $<TARGET_OBJECTS:lurn_core_obj> $<TARGET_OBJECTS:lurn_lua_obj>)
set(LURN_RUNTIME_DEPS PkgConfig::BLAS $<TARGET_NAME_IF_EXISTS:ZLIB::ZLIB> m)

# liblurn.so exports the lurn_* API (and luaopen_lurn) only
add_library(lurn_shared SHARED ${LURN_RUNTIME_OBJECTS} $<TARGET_OBJECTS:lurn_embed_obj>)
set_target_properties(lurn_shared PROPERTIES OUTPUT_NAME lurn EXPORT_NAME lurn
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
target_link_libraries(lurn_shared PRIVATE PkgConfig::LUA ${LURN_RUNTIME_DEPS})
target_link_options(lurn_shared PRIVATE
  -Wl,--version-script=${CMAKE_SOURCE_DIR}/cmake/liblurn.map -Wl,--no-undefined)
target_include_directories(lurn_shared INTERFACE
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

add_library(lurn_static STATIC ${LURN_RUNTIME_OBJECTS} $<TARGET_OBJECTS:lurn_embed_obj>)
set_target_properties(lurn_static PROPERTIES OUTPUT_NAME lurn)
target_include_directories(lurn_static PUBLIC include)
target_link_libraries(lurn_static PUBLIC PkgConfig::LUA ${LURN_RUNTIME_DEPS})

# lurn.so for `lua5.4 -l lurn`: never linked with liblua, whose symbols come from the
# interpreter (Debian's lua5.4 has Lua linked in; a second copy would corrupt states)
add_library(lurn_module MODULE ${LURN_RUNTIME_OBJECTS})
set_target_properties(lurn_module PROPERTIES OUTPUT_NAME lurn PREFIX ""
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/cmod)
target_link_libraries(lurn_module PRIVATE ${LURN_RUNTIME_DEPS})
target_link_options(lurn_module PRIVATE
  -Wl,--version-script=${CMAKE_SOURCE_DIR}/cmake/lurn_module.map)

# Lua's C module directory, relative to the prefix so that `cmake --install --prefix`
# stages it: Debian's INSTALL_CMOD under /usr, else lib/lua/5.4 (in lua5.4's default
# package.cpath under /usr/local).
pkg_get_variable(LUA_INSTALL_CMOD lua5.4 INSTALL_CMOD)
pkg_get_variable(LUA_PREFIX lua5.4 prefix)
set(cmod lib/lua/5.4)
if(LUA_INSTALL_CMOD AND LUA_PREFIX AND CMAKE_INSTALL_PREFIX STREQUAL LUA_PREFIX)
  file(RELATIVE_PATH cmod ${LUA_PREFIX} ${LUA_INSTALL_CMOD})
endif()
set(LURN_LUA_CMOD_DIR ${cmod} CACHE STRING "Where lurn.so goes (Lua C modules), under the prefix")

# ---- install ----
install(TARGETS lurn RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS lurn_shared EXPORT lurnTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS lurn_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/lurn.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS lurn_module LIBRARY DESTINATION ${LURN_LUA_CMOD_DIR})

# lurn.pc finds its prefix from its own place (${pcfiledir}), so a staged install works
file(RELATIVE_PATH LURN_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" LURN_PC_TO_PREFIX "${LURN_PC_TO_PREFIX}")
configure_file(cmake/lurn.pc.in ${CMAKE_BINARY_DIR}/lurn.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/lurn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(LURN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lurn)
install(EXPORT lurnTargets NAMESPACE lurn:: DESTINATION ${LURN_CMAKE_DIR})
configure_package_config_file(cmake/lurnConfig.cmake.in ${CMAKE_BINARY_DIR}/lurnConfig.cmake
  INSTALL_DESTINATION ${LURN_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/lurnConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/lurnConfig.cmake ${CMAKE_BINARY_DIR}/lurnConfigVersion.cmake
  DESTINATION ${LURN_CMAKE_DIR})

# ---- tests ----
# The API's C tests link liblurn.a; the install tests stage `cmake --install` into a
# temporary prefix and build against it as a host would.
file(GLOB EMBED_TESTS CONFIGURE_DEPENDS tests/embed/test_*.c)
foreach(src ${EMBED_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE lurn_static)
  add_test(NAME embed.${name} COMMAND ${name})
  set_tests_properties(embed.${name} PROPERTIES WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endforeach()

file(GLOB EMBED_SH_TESTS CONFIGURE_DEPENDS tests/embed/test_*.sh)
foreach(src ${EMBED_SH_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME embed.${name}
    COMMAND sh ${src} ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR} ${CMAKE_C_COMPILER})
  # a sanitized liblurn needs the sanitizer runtimes in the hosts that load it
  set_tests_properties(embed.${name} PROPERTIES ENVIRONMENT "LURN_SANITIZE=$<BOOL:${LURN_SANITIZE}>")
endforeach()

# test_valgrind.sh runs the embedding example (examples/embed/host.c, built here against
# liblurn.so) under memcheck; it skips (77) when valgrind is missing and in the sanitizer
# build (valgrind cannot run ASan binaries)
add_executable(embed_host examples/embed/host.c)
target_link_libraries(embed_host PRIVATE lurn_shared)
if(TEST embed.test_valgrind)
  set_tests_properties(embed.test_valgrind PROPERTIES SKIP_RETURN_CODE 77)
endif()

# the REPL's pseudo-terminal test skips (77) only when python3 is missing
if(TEST cli.test_repl)
  set_tests_properties(cli.test_repl PROPERTIES SKIP_RETURN_CODE 77)
endif()
