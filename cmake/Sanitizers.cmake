# -DMNEMO_SANITIZE=ON: AddressSanitizer + UndefinedBehaviorSanitizer for every
# target, with UB reports fatal so a test run fails on the first one.
if(MNEMO_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# -DMNEMO_TSAN=ON: ThreadSanitizer for every target (gcc or clang). ASan and
# TSan cannot share a process, hence a tree of its own. gRPC, LevelDB and
# absl come uninstrumented from Debian: run with
# TSAN_OPTIONS=suppressions=tests/tsan.supp (README "Testing").
if(MNEMO_TSAN)
  if(MNEMO_SANITIZE OR MNEMO_FUZZ)
    message(FATAL_ERROR "MNEMO_TSAN excludes MNEMO_SANITIZE and MNEMO_FUZZ: use another build tree")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
