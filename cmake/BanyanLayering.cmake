# The layering docs/architecture.md draws, enforced at configure time: a pure library (decisions,
# parsing, models) reaches no Asio, Beast, socket or server library through anything it links, and
# includes none of their headers; the CLI reaches none of the proxy's server, configuration or
# admin libraries. A new link that
# breaks either stops the configure step with the path that breaks it.

# The transport libraries: Asio/Beast compiled once, the servers and clients built on them, and the
# proxy's libraries that hold its sockets.
set(banyan_transport_libraries banyan_asio banyan_http_server banyan_http_client banyan_sync_follower
    banyan_sync_daemon banyan_proxy_server banyan_proxy_config banyan_proxy_admin banyan_etcd banyan_proxy_fleet)
set(banyan_pure_libraries banyan_platform_headers banyan_platform banyan_yaml banyan_proxy_core banyan_shadow
    banyan_proxy_model banyan_evidence banyan_sync banyan_sync_db banyan_sync_pg banyan_postgres banyan_sync_config banyan_plan banyan_report_render
    banyan_verify legacy_shop banyan_fleet_rules)

# banyan_direct_links(TARGET OUT): the targets TARGET links, private and public, generator
# expressions such as $<LINK_ONLY:x> unwrapped; non-targets (system libraries) dropped.
function(banyan_direct_links target out)
  set(links)
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(l ${target} LINK_LIBRARIES)
    if(l)
      list(APPEND links ${l})
    endif()
  endif()
  get_target_property(i ${target} INTERFACE_LINK_LIBRARIES)
  if(i)
    list(APPEND links ${i})
  endif()
  set(result)
  foreach(l IN LISTS links)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" l "${l}")
    if(TARGET ${l} AND l MATCHES "^banyan_|^legacy_shop$|^catalog_service$")
      list(APPEND result ${l})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES result)
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# banyan_forbid_reach(TARGET FORBIDDEN...): fails when TARGET reaches one of FORBIDDEN, naming the path.
function(banyan_forbid_reach target)
  set(forbidden ${ARGN})
  set(queue ${target})
  set(seen ${target})
  set(path_${target} ${target})
  while(queue)
    list(POP_FRONT queue current)
    banyan_direct_links(${current} next)
    foreach(n IN LISTS next)
      if(n IN_LIST seen)
        continue()
      endif()
      list(APPEND seen ${n})
      set(path_${n} "${path_${current}} -> ${n}")
      if(n IN_LIST forbidden)
        message(FATAL_ERROR "layering: ${target} must not reach ${n}, but links ${path_${n}} "
                            "(docs/architecture.md draws the graph; cmake/BanyanLayering.cmake checks it)")
      endif()
      list(APPEND queue ${n})
    endforeach()
  endwhile()
endfunction()

# banyan_check_pure_sources(TARGET): fails when one of TARGET's sources, or a header in its own
# include folders, includes Asio, Beast or the socket API.
function(banyan_check_pure_sources target)
  get_target_property(dir ${target} SOURCE_DIR)
  set(files)
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(sources ${target} SOURCES)
    foreach(f IN LISTS sources)
      cmake_path(ABSOLUTE_PATH f BASE_DIRECTORY ${dir})
      list(APPEND files ${f})
    endforeach()
  endif()
  get_target_property(includes ${target} INTERFACE_INCLUDE_DIRECTORIES)
  foreach(inc IN LISTS includes)
    string(REGEX REPLACE "^\\$<BUILD_INTERFACE:(.*)>$" "\\1" inc "${inc}")
    if(IS_DIRECTORY ${inc} AND inc MATCHES "^${CMAKE_SOURCE_DIR}/")
      file(GLOB_RECURSE headers ${inc}/*.hpp)
      list(APPEND files ${headers})
    endif()
  endforeach()
  foreach(f IN LISTS files)
    file(STRINGS ${f} hits REGEX "^#include <(boost/asio|boost/beast|sys/socket\\.h|netinet/|arpa/inet\\.h)")
    if(hits)
      message(FATAL_ERROR "layering: ${target} is pure, but ${f} has ${hits}")
    endif()
  endforeach()
endfunction()

function(banyan_check_layering)
  foreach(lib IN LISTS banyan_pure_libraries)
    if(TARGET ${lib})
      banyan_forbid_reach(${lib} ${banyan_transport_libraries})
      banyan_check_pure_sources(${lib})
    endif()
  endforeach()
  if(TARGET banyan)
    # The CLI talks to the proxy over HTTP (the http client links Asio privately) and shares only the
    # route model with it.
    banyan_forbid_reach(banyan banyan_proxy_server banyan_proxy_config banyan_proxy_admin banyan_proxy_fleet)
  endif()
endfunction()
