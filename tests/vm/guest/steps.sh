#!/bin/sh
# The steps run inside the QEMU guest (busybox sh), on the serial console. Each prints
# "PASS name" or "FAIL name"; the last line is "N passed, N failed".
# `steps.sh` runs them all, each in its own `steps.sh run NAME` under a time limit.
# A step asks the host (tests/vm/driver.py) for a monitor action by printing
# "@@host ACTION" and waits for the line "@@done ACTION ok" (or "... error TEXT").
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
T=/run/vmtest          # state shared by the steps
LOG=$T/vmrefclockd.log # the daemon's log (stderr)
CHRONYC="chronyc -n -h /run/chrony/chronyd.sock"
mkdir -p $T

. "$(dirname "$0")/step-lib.sh"

# host ACTION: asks the host to act through QEMU's monitor and waits for its answer.
host() {
    local reply
    echo "@@host $1"
    while :; do
        if ! read -t 240 -r reply; then
            note "no answer from the host to $1"
            return 1
        fi
        case "$reply" in
            "@@done $1 ok"*) return 0 ;;
            "@@done $1 "*) note "host: $reply"; return 1 ;;
        esac
    done
}

phc() { cat $T/phc; }                         # /dev/ptpN of the NIC
clock_name() { cat /sys/class/ptp/"$(basename "$(phc)")"/clock_name; }
marker() { od -A n -t u8 -j 16 -N 8 /dev/vmclock0 | tr -d ' '; }
ctl() { vmrefclockctl -s /run/vmrefclock/status.sock "$@"; }
state() { ctl status 2>/dev/null | sed -n 's/^state: *\([a-z-]*\).*/\1/p'; }
state_is() { [ "$(state)" = "$1" ]; }
field() { ctl status 2>/dev/null | sed -n "s/^$1: *//p"; }
disruptions() { field disruptions | cut -d, -f1; }
daemon_pid() { cat $T/daemon.pid 2>/dev/null; }
daemon_alive() { [ -n "$(daemon_pid)" ] && kill -0 "$(daemon_pid)" 2>/dev/null; }

write_config() { # METHOD [ALLOW]
    local allow="[\"$(clock_name)\"]"
    [ "${2-}" = none ] && allow="[]"
    cat >$T/vmrefclockd.toml <<EOF
[source]
type = "auto"
method = "$1"
interval = 0.5
allow_phc = $allow
[chrony]
socket = "/run/chrony/vmrefclock.sock"
control_socket = "/run/chrony/chronyd.sock"
poll = 2
[status]
socket = "/run/vmrefclock/status.sock"
[log]
level = "info"
EOF
}

start_daemon() { # METHOD
    stop_daemon
    write_config "$1"
    echo "----- vmrefclockd method=$1" >>$LOG
    vmrefclockd -c $T/vmrefclockd.toml >>$LOG 2>&1 &
    echo $! >$T/daemon.pid
}

stop_daemon() {
    local pid
    pid=$(daemon_pid)
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    wait_for 10 "vmrefclockd $pid stopped" sh -c "! kill -0 $pid" >/dev/null || kill -9 "$pid"
    rm -f $T/daemon.pid
}

# Lines the daemon logged since mark_log.
mark_log() { wc -l <$LOG >$T/log.mark; }
new_log() { tail -n +$(($(cat $T/log.mark) + 1)) $LOG; }
count_new() { new_log | grep -c -- "$1"; }

# ----- steps -----

step_modules() {
    local order dev
    order=/lib/modules/$(uname -r)/load-order
    for m in $(cat "$order"); do
        insmod /lib/modules/"$(uname -r)"/"$m".ko || { note "insmod $m failed"; return 1; }
    done
    note "loaded: $(tr '\n' ' ' <"$order")"
    wait_for 20 "/dev/vmclock0" test -c /dev/vmclock0 || return 1
    wait_for 20 "a PHC" sh -c 'ls /sys/class/ptp/ | grep -q ptp' || return 1
    for dev in /sys/class/ptp/ptp*; do
        note "$(basename "$dev"): \"$(cat "$dev/clock_name")\" ($(basename "$(readlink -f "$dev/device/driver")"))"
        if [ "$(basename "$(readlink -f "$dev/device/driver")")" = igb ]; then
            echo "/dev/$(basename "$dev")" >$T/phc
            basename "$(readlink -f "$dev/device")" >$T/nic_pci
        fi
    done
    [ -s $T/phc ] || { note "no PHC of the igb NIC"; return 1; }
    marker >$T/marker.boot
    note "vmclock page: disruption marker $(cat $T/marker.boot)"
    wait_for 20 "/dev/$(basename "$(phc)")" test -c "$(phc)"
}

step_real_device_tests() {
    local out
    out=$(sources_ptp_real_device_test 2>&1)
    local rc=$?
    echo "$out" | sed 's/^/    /'
    [ $rc -eq 0 ] || return 1
    echo "$out" | grep -q SKIPPED && { note "skipped: not a real-device run"; return 1; }
    echo "$out" | grep -q "\[  PASSED  \] 1 test" || return 1
    echo "$out" | grep -q "$(phc)" || { note "did not poll $(phc)"; return 1; }
}

step_list_sources() {
    local out ok=0
    write_config auto none
    out=$(vmrefclockd -c $T/vmrefclockd.toml --list-sources 2>&1)
    note "without allow_phc:"
    echo "$out" | sed 's/^/    /'
    echo "$out" | grep -q "^time source: ptp $(phc)" && { note "the NIC's PHC was chosen without allow_phc"; ok=1; }
    write_config auto
    out=$(vmrefclockd -c $T/vmrefclockd.toml --list-sources 2>&1)
    note "with allow_phc = [\"$(clock_name)\"]:"
    echo "$out" | sed 's/^/    /'
    echo "$out" | grep -q "^time source: ptp $(phc)" || { note "the NIC's PHC is not the time source"; ok=1; }
    echo "$out" | grep -q "^disruption signal: .*/dev/vmclock0" || { note "the page is not the disruption signal"; ok=1; }
    return $ok
}

chrony_selected() { $CHRONYC sources | grep -q '^#\* VMCK'; }
# Settled: VMCK selected with its last 8 samples accepted (reach 377), and the guest's
# clock within 100 µs of it by chrony's own account.
chrony_settled() {
    $CHRONYC sources | grep -q '^#\* VMCK .* 377 ' || return 1
    $CHRONYC tracking | awk '/^System time/ {exit !($4 < 0.0001)}'
}

step_chrony() {
    mkdir -p /run/chrony /run/vmrefclock /etc/chrony
    chmod 0750 /run/chrony
    cat >/etc/chrony/chrony.conf <<EOF
refclock SOCK /run/chrony/vmrefclock.sock refid VMCK poll 2
makestep 0.1 -1
bindcmdaddress /run/chrony/chronyd.sock
cmdport 0
pidfile /run/chrony/chronyd.pid
EOF
    # No -x: chronyd disciplines the guest's own clock.
    chronyd -u root -f /etc/chrony/chrony.conf -L 0 -l $T/chronyd.log || { note "chronyd did not start"; return 1; }
    wait_for 20 "chronyd's sockets" test -S /run/chrony/vmrefclock.sock -a -S /run/chrony/chronyd.sock || return 1
    : >$LOG
    start_daemon auto
    wait_for 60 "vmrefclockd state ok" state_is ok || { show cat $LOG; return 1; }
    wait_for 120 "chronyd selected VMCK" chrony_selected || { show $CHRONYC sources; return 1; }
    wait_for 180 "chronyd's clock within 100 us" chrony_settled || { show $CHRONYC tracking; return 1; }
    show $CHRONYC tracking
    show $CHRONYC sources
    $CHRONYC tracking >$T/tracking
    grep -q '^Reference ID *: 564D434B (VMCK)' $T/tracking || { note "VMCK is not the reference"; return 1; }
    grep -q '^Leap status *: Normal' $T/tracking || { note "leap status is not Normal"; return 1; }
    # Disciplined, not -x: chronyd has set the kernel clock's frequency.
    show adjtimex
    adjtimex | awk '/freq.adjust:/ {exit !($3 != 0)}' || { note "the kernel clock's frequency was not set"; return 1; }
}

step_method_auto() {
    wait_for 30 "state ok" state_is ok || return 1
    show ctl status
    field source | grep -q "^ptp $(phc) (extended)" || { note "auto did not settle on extended"; return 1; }
    grep -E "method|caps" $LOG | tail -n 3 | sed 's/^/    /'
}

# One disruption from the host: ACTION is savevm (savevm + loadvm) or migrate (to a
# file and back). Exactly one disruption, chrony reset, hold-off, then ok again.
disruption_step() {
    local action=$1 m0 d0 seen_holdoff=0 ok=0
    wait_for 60 "state ok before $action" state_is ok || return 1
    m0=$(marker)
    d0=$(disruptions)
    mark_log
    note "before: marker $m0, disruptions $d0"
    host "$action" || return 1
    note "after $action: marker $(marker)"
    # The hold-off lasts 2^poll = 4 s; the status is asked every 0.2 s.
    if wait_for 15 "state holdoff" state_is holdoff; then
        seen_holdoff=1
        show ctl status
    fi
    wait_for 60 "state ok again" state_is ok || ok=1
    # A second disruption would follow within a few polls, if at all.
    sleep 3
    show ctl status
    show new_log
    [ "$(marker)" -eq $((m0 + 1)) ] || { note "marker $(marker), expected $((m0 + 1))"; ok=1; }
    [ "$(disruptions)" -eq $((d0 + 1)) ] || { note "disruptions $(disruptions), expected $((d0 + 1))"; ok=1; }
    [ "$(count_new 'warning: disruption (')" -eq 1 ] || { note "not exactly one disruption logged"; ok=1; }
    [ "$(count_new 'chrony sources reset (disruption')" -eq 1 ] || { note "no chrony reset for the disruption"; ok=1; }
    [ "$(count_new 'hold-off over')" -eq 1 ] || { note "no end of hold-off logged"; ok=1; }
    [ $seen_holdoff -eq 1 ] || [ "$(count_new 'state holdoff')" -eq 1 ] || { note "no hold-off"; ok=1; }
    state_is ok || ok=1
    daemon_alive || { note "vmrefclockd died"; ok=1; }
    return $ok
}
step_savevm_loadvm() { disruption_step savevm; }
step_migration() { disruption_step migrate; }

step_device_loss() {
    local pci ok=0
    pci=$(cat $T/nic_pci)
    wait_for 60 "state ok" state_is ok || return 1
    mark_log
    note "unbinding $pci from igb"
    echo "$pci" >/sys/bus/pci/drivers/igb/unbind || return 1
    wait_for 20 "state no-source" state_is no-source || ok=1
    show ctl status
    daemon_alive || { note "vmrefclockd died"; return 1; }
    field state | grep -q "$(phc)" || { note "the status does not name $(phc)"; ok=1; }
    note "binding $pci to igb again"
    echo "$pci" >/sys/bus/pci/drivers/igb/bind || return 1
    wait_for 20 "$(phc) back" test -c "$(phc)" || ok=1
    wait_for 60 "state ok again" state_is ok || ok=1
    show ctl status
    show new_log
    daemon_alive || { note "vmrefclockd died"; ok=1; }
    return $ok
}

forced_method() { # METHOD
    start_daemon "$1"
    wait_for 60 "state ok with method $1" state_is ok || { show tail -n 20 $LOG; return 1; }
    show ctl status
    field source | grep -q "^ptp $(phc) ($1)" || { note "source is not read with $1"; return 1; }
}
step_method_basic() { forced_method basic; }
step_method_extended() { forced_method extended; }

# A forced method the device refuses leaves the daemon up in no-source, its status
# naming the device, the method and the errno (config/vmrefclockd.toml, [source] method).
step_method_precise_refused() {
    local ok=0 reason
    start_daemon precise
    wait_for 30 "state no-source" state_is no-source || { show tail -n 20 $LOG; return 1; }
    show ctl status
    reason=$(field state)
    echo "$reason" | grep -q "$(phc)" && echo "$reason" | grep -q "precise" &&
        echo "$reason" | grep -q "Operation not supported" ||
        { note "the status does not name the device, the method and EOPNOTSUPP"; ok=1; }
    [ "$(field polls | cut -d' ' -f3 | tr -d ',')" = 0 ] || { note "samples were sent"; ok=1; }
    daemon_alive || { note "vmrefclockd is not running"; ok=1; }
    stop_daemon
    return $ok
}

# ----- driver -----

if [ "${1-}" = run ]; then
    "step_$2"
    exit $?
fi

run_steps "$0" modules:60 real_device_tests:120:modules list_sources:60:modules \
    chrony:360:modules method_auto:30:chrony savevm_loadvm:300:chrony migration:300:chrony \
    device_loss:180:chrony method_basic:120:chrony method_extended:120:chrony \
    method_precise_refused:60:modules
stop_daemon
echo "$passed passed, $failed failed"
