# banyan_warnings(target): the project's warning set; errors when BANYAN_WERROR is on (CI).
function(banyan_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                           -Wimplicit-fallthrough)
  if(BANYAN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
