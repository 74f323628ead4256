# smoke.cmake - included by tests/CMakeLists.txt: the benchmark harness in
# the test suite, so that it cannot rot.
#
# bench.smoke.build builds mnemo-bench in this build tree (a fixture: the
# normal build does not compile tests/bench, see bench/CMakeLists.txt), then
# bench.smoke runs `run.sh --smoke` on it: a few hundred memories, a small
# include directory, one round, every figure; baselines whose packages are
# missing print "skipped". No network, no packages beyond
# cmake/install-deps.sh. Label bench-smoke; well under a minute.
option(MNEMO_BENCH "Build the benchmark (tests/bench) with its SQLite and C++ baselines" OFF)
if(MNEMO_BENCH)
  add_subdirectory(${CMAKE_CURRENT_LIST_DIR} ${CMAKE_CURRENT_BINARY_DIR}/bench)
else()
  add_subdirectory(${CMAKE_CURRENT_LIST_DIR} ${CMAKE_CURRENT_BINARY_DIR}/bench EXCLUDE_FROM_ALL)
endif()

add_test(NAME bench.smoke.build
         COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target bench_all)
set_tests_properties(bench.smoke.build PROPERTIES LABELS bench-smoke TIMEOUT 600
                     FIXTURES_SETUP mnemo_bench_programs)
add_test(NAME bench.smoke
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run.sh --smoke --no-build
                 --build-dir ${CMAKE_BINARY_DIR})
set_tests_properties(bench.smoke PROPERTIES LABELS bench-smoke TIMEOUT 120
                     FIXTURES_REQUIRED mnemo_bench_programs)
