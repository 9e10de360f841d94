# Counts every entry from C into Go while nogo_transfer runs its data path
# (see check_nogo.sh). Breakpoints apply to all threads.
set pagination off
set confirm off
set breakpoint pending on
set print thread-events off
break nogo_begin
run
set $go = 0
set $api = 0
break crosscall2
commands
silent
set $go = $go + 1
continue
end
break 'runtime.cgocallback'
commands
silent
set $go = $go + 1
continue
end
break 'runtime.cgocallbackg'
commands
silent
set $go = $go + 1
continue
end
break sslbio_conn_feed
commands
silent
set $api = $api + 1
continue
end
break sslbio_conn_drain
commands
silent
set $api = $api + 1
continue
end
break sslbio_conn_read
commands
silent
set $api = $api + 1
continue
end
break sslbio_conn_write
commands
silent
set $api = $api + 1
continue
end
break sslbio_conn_handshake
commands
silent
set $api = $api + 1
continue
end
break sslbio_conn_shutdown
commands
silent
set $api = $api + 1
continue
end
info breakpoints
break nogo_end
continue
printf "GDB_GO_ENTRIES %d\n", $go
printf "GDB_API_HITS %d\n", $api
continue
quit
