# -DMNEMO_FUZZ=ON: the libFuzzer targets of tests/fuzz/ (README "Testing").
# libFuzzer is clang's (Debian: clang, libclang-rt-14-dev), so this needs
# CC=clang and a build tree of its own. Every library of the tree is
# compiled with coverage instrumentation plus ASan and UBSan
# (-fsanitize=fuzzer-no-link,...); only the fuzz targets link libFuzzer's
# main (-fsanitize=fuzzer, tests/fuzz/CMakeLists.txt). UB is fatal, as in
# MNEMO_SANITIZE, so libFuzzer keeps the input that triggered it.
if(MNEMO_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MNEMO_FUZZ needs clang (libFuzzer), not ${CMAKE_C_COMPILER_ID}: "
                        "configure a separate tree with CC=clang")
  endif()
  if(MNEMO_SANITIZE)
    message(FATAL_ERROR "MNEMO_FUZZ brings its own ASan and UBSan: leave MNEMO_SANITIZE OFF")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
