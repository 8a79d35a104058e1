# BANYAN_SANITIZE=ON instruments everything with ASan and UBSan; UBSan findings abort the test.
if(BANYAN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
