# Sourced by steps.sh and systemd-steps.sh: what both boots' steps share (output helpers,
# waiting, and the runner that gives each step its own process and time limit).

note() { echo "  $*"; }
# Indents a command's output under the step.
show() { "$@" 2>&1 | sed 's/^/    /'; }
uptime_s() { cut -d. -f1 /proc/uptime; }

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
    local seconds=$1 what=$2 start
    shift 2
    start=$(uptime_s)
    while ! "$@" >/dev/null 2>&1; do
        if [ $(($(uptime_s) - start)) -ge "$seconds" ]; then
            note "timed out after ${seconds} s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
    note "$what after $(($(uptime_s) - start)) s"
}

# run_steps SCRIPT ENTRY...: runs `SCRIPT run NAME` for each ENTRY, NAME:SECONDS[:NEEDS]
# (the step's time limit, and the step without which it cannot run: it then fails at
# once rather than wait out its limit). Prints "PASS name (N s)" or "FAIL name (N s)"
# per step and sets $passed and $failed.
run_steps() {
    local script=$1 entry name rest limit needs name_dash start rc took broken=""
    shift
    passed=0
    failed=0
    for entry in "$@"; do
        name=${entry%%:*}
        rest=${entry#*:}
        limit=${rest%%:*}
        needs=""
        [ "$rest" = "$limit" ] || needs=${rest#*:}
        name_dash=$(echo "$name" | tr _ -)
        echo "----- $name_dash"
        if [ -n "$needs" ] && echo " $broken " | grep -q " $needs "; then
            note "not run: $(echo "$needs" | tr _ -) failed"
            echo "FAIL $name_dash (0 s)"
            failed=$((failed + 1))
            broken="$broken $name"
            continue
        fi
        start=$(uptime_s)
        timeout "$limit" sh "$script" run "$name"
        rc=$?
        took=$(($(uptime_s) - start))
        if [ $rc -eq 0 ]; then
            echo "PASS $name_dash (${took} s)"
            passed=$((passed + 1))
        else
            # coreutils' timeout exits 124; busybox's kills with SIGTERM (143).
            { [ $rc -eq 124 ] || [ $rc -eq 143 ]; } && note "time limit of $limit s reached"
            echo "FAIL $name_dash (${took} s)"
            failed=$((failed + 1))
            broken="$broken $name"
        fi
    done
}
