# Sourced by the *-down scripts: stops the process whose pid a file records, then removes the file.
# Usage: stop_recorded <pid file> <what it is, for the message>
stop_recorded() {
  local file=$1 what=$2 pid
  pid=$(cat "$file" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "stopped $what (pid $pid)"
  fi
  rm -f "$file"
}
