# Use ccache when it is installed: rebuilds of unchanged Beast/Asio units then cost nothing.
find_program(BANYAN_CCACHE ccache)
if(BANYAN_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${BANYAN_CCACHE})
endif()
