# BANYAN_SANITIZE=ON instruments everything with ASan and UBSan; UBSan findings abort the test.
if(BANYAN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# BANYAN_FUZZ=ON (clang): coverage for libFuzzer on every library, with ASan and UBSan; the fuzz
# targets themselves link -fsanitize=fuzzer (tests/fuzz/CMakeLists.txt).
if(BANYAN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "BANYAN_FUZZ needs clang (scripts/fuzz.sh uses clang++-14)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
