# -DMNEMO_SANITIZE=ON: AddressSanitizer + UndefinedBehaviorSanitizer for every
# target, with UB reports fatal so a test run fails on the first one.
if(MNEMO_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
