#!/usr/bin/env bash
# Runs the example site: Django's web server and a django-q2 worker side by side.
# Ctrl-C (or SIGTERM) stops both.
#
#   bash example_site/run_demo.sh [PYTHON]      (``make demo`` runs it after migrate + load_demo)
#
# PORT (default 8000) and HOST (default 127.0.0.1) choose where the site listens.
#
# Each process runs in its own session (setsid), so the terminal's Ctrl-C reaches only this
# script, which then stops them one at a time: a polite signal to the main process only, up
# to STOP_TIMEOUT seconds to finish, then SIGKILL to whatever is left of its process group.
# Signalling a whole qcluster process group at once can leave it hanging on shutdown
# (django-q2 issue #346): only its main process must be told, and it stops its own children.

set -u

PYTHON="${1:-python3}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
STOP_TIMEOUT="${STOP_TIMEOUT:-10}"
MANAGE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/manage.py"
URL="http://$HOST:$PORT"

if ! command -v setsid >/dev/null 2>&1; then
    echo "run_demo.sh needs setsid (util-linux)." >&2
    exit 1
fi

port_open() {  # does something listen on HOST:PORT? (bash's /dev/tcp: no curl needed)
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

if port_open; then
    echo "Something already listens on $HOST:$PORT. Stop it, or choose another port: PORT=8001 make demo" >&2
    exit 1
fi

web_pid=""
worker_pid=""
stopping=0
force=0

alive() {  # is any process of the group led by $1 still running?
    [ -n "$1" ] && kill -0 -- "-$1" 2>/dev/null
}

stop_group() {  # $1 pid (= process group), $2 signal for the main process, $3 name
    local pid="$1" signal="$2" name="$3" waited=0
    alive "$pid" || return 0
    echo "Stopping the $name (pid $pid)…"
    kill "-$signal" "$pid" 2>/dev/null
    while alive "$pid" && [ "$force" = 0 ] && [ "$waited" -lt $((STOP_TIMEOUT * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if alive "$pid"; then
        echo "The $name did not stop in time: killing it."
        kill -KILL -- "-$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

shutdown() {
    [ "$stopping" = 1 ] && return
    stopping=1
    trap 'force=1' INT TERM  # a second Ctrl-C skips the wait
    echo
    # The worker first: it may be half-way through a task; the web server stops at once.
    stop_group "$worker_pid" TERM "django-q2 worker"
    stop_group "$web_pid" TERM "web server"
    echo "Stopped."
}

trap 'shutdown; exit 0' INT  # Ctrl-C is how the demo is meant to end
trap 'shutdown; exit 143' TERM
trap 'shutdown' EXIT

# A background job of a script is not a process group leader, so setsid does not fork:
# $! is the pid of manage.py itself, and the leader of its own session and process group.
setsid "$PYTHON" "$MANAGE" runserver "$HOST:$PORT" &
web_pid=$!
setsid "$PYTHON" "$MANAGE" qcluster &
worker_pid=$!

# Say where to go once the server listens.
for _ in $(seq 1 300); do
    if port_open; then
        cat <<EOF

  Example site:  $URL/
  Admin:         $URL/admin/   (log in as admin / admin)
  Worker:        django-q2 qcluster, running beside the web server
  Press Ctrl-C to stop both.

EOF
        break
    fi
    alive "$web_pid" || break
    sleep 0.1
done

# Run until one of them ends on its own (or a signal arrives); then stop the other.
wait -n "$web_pid" "$worker_pid"
status=$?
if [ "$stopping" = 0 ]; then
    alive "$web_pid" || echo "The web server exited (status $status)." >&2
    alive "$worker_pid" || echo "The django-q2 worker exited (status $status)." >&2
    shutdown
    exit 1
fi
