# Benchmark programs: the traffic generator (build/procsniff-gen).
add_executable(procsniff-gen ${CMAKE_CURRENT_LIST_DIR}/gen.c ${CMAKE_CURRENT_LIST_DIR}/crypto.c)
target_link_libraries(procsniff-gen PRIVATE PkgConfig::PCAP PkgConfig::CRYPTO m)
set_target_properties(procsniff-gen PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
