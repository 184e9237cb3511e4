#!/bin/sh
# The second boot's steps: the packaged unit under a real systemd as PID 1. Run as
# vmtest.service (made by tests/vm/guest/init) on the serial console of a guest whose
# root is the Debian tree the project was built in, under a tmpfs overlay. Each step
# prints "PASS name" or "FAIL name"; the last line is "N passed, N failed".
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
T=/run/vmtest
mkdir -p $T

. "$(dirname "$0")/step-lib.sh"
state_is() { [ "$(vmrefclockctl status 2>/dev/null | sed -n 's/^state: *\([a-z-]*\).*/\1/p')" = "$1" ]; }
main_pid() { systemctl show -P MainPID vmrefclockd.service; }
active() { [ "$(systemctl is-active vmrefclockd.service)" = active ]; }
phc() { cat $T/phc; }
journal_since() { journalctl -q -o cat -u vmrefclockd.service --since "@$1"; }

step_systemd_pid1() {
    note "PID 1: $(cat /proc/1/comm), $(systemctl --version | head -n 1)"
    note "the guest's uptime: $(uptime_s) s"
    # The boot is over once every unit of multi-user.target is up (this one included).
    note "system: $(timeout 60 systemctl is-system-running --wait)"
    systemctl --failed --no-legend --plain | sed 's/^/    failed: /'
    [ -z "$(systemctl --failed --no-legend --plain)" ] || { note "units failed"; return 1; }
    [ "$(cat /proc/1/comm)" = systemd ] || return 1
    for dev in /sys/class/ptp/ptp*; do
        [ "$(basename "$(readlink -f "$dev/device/driver")")" = igb ] && echo "/dev/$(basename "$dev")" >$T/phc
    done
    [ -s $T/phc ] && [ -c /dev/vmclock0 ] || { note "no igb PHC or no /dev/vmclock0"; return 1; }
    note "devices: $(phc) ($(cat /sys/class/ptp/"$(basename "$(phc)")"/clock_name)), /dev/vmclock0"
}

step_deb_install() {
    local deb
    deb=$(ls /vm/pkg/*.deb)
    # chronyd first, as on a real system: the postinst starts the service.
    sed -i 's/^\(pool\|server\|sourcedir\) /#&/' /etc/chrony/chrony.conf
    echo "refclock SOCK /run/chrony/vmrefclock.sock refid VMCK poll 2" >/etc/chrony/conf.d/vmrefclock.conf
    systemctl start chrony.service || { show journalctl -q -o cat -u chrony.service; return 1; }
    note "chrony.service: $(systemctl is-active chrony.service)"
    note "dpkg -i $(basename "$deb")"
    show dpkg -i "$deb" || return 1
    dpkg -s vmrefclock | grep -q '^Status: install ok installed' || return 1
    getent passwd vmrefclock >/dev/null || { note "no user vmrefclock"; return 1; }
    note "vmrefclockd.service: $(systemctl is-enabled vmrefclockd.service)"
    [ "$(systemctl is-enabled vmrefclockd.service)" = enabled ]
}

step_service_active() {
    local name
    name=$(cat /sys/class/ptp/"$(basename "$(phc)")"/clock_name)
    # The NIC's PHC is no VM host clock: the operator names it.
    sed -i "s/^allow_phc = .*/allow_phc = [\"$name\"]/" /etc/vmrefclock/vmrefclockd.toml
    grep '^allow_phc' /etc/vmrefclock/vmrefclockd.toml | sed 's/^/    /'
    systemctl reset-failed vmrefclockd.service 2>/dev/null
    # Type=notify: returns once the first sample has reached chronyd.
    timeout 60 systemctl restart vmrefclockd.service ||
        { show journalctl -q -o cat -u vmrefclockd.service -n 20; return 1; }
    note "systemctl is-active vmrefclockd.service: $(systemctl is-active vmrefclockd.service)"
    active || return 1
    wait_for 60 "vmrefclockctl status: state ok" state_is ok || return 1
    show vmrefclockctl status
    vmrefclockctl status | grep -q "^source: *ptp $(phc) " || return 1
    vmrefclockctl status | grep -q "^host marker:" || { note "the page is not read"; return 1; }
}

step_security() {
    local out level
    out=$(systemd-analyze security --no-pager vmrefclockd.service 2>&1)
    echo "$out" | grep '✗' | sed 's/^/    /'
    echo "$out" | tail -n 1 | sed 's/^/    /'
    level=$(echo "$out" | sed -n 's/.*Overall exposure level for vmrefclockd.service: \([0-9.]*\).*/\1/p')
    [ -n "$level" ] || return 1
    # systemd's scale: 0 (safe) .. 10 (exposed); below 2 is "OK".
    awk -v l="$level" 'BEGIN {exit !(l < 2.0)}' || { note "exposure $level is not below 2.0"; return 1; }
}

# Runs a probe in the daemon's own sandbox: its cgroup (the device policy), its mount
# namespace (ProtectSystem, PrivateTmp ...), its user and its one capability.
in_sandbox() {
    local pid
    pid=$(main_pid)
    sh -c 'echo $$ >"/sys/fs/cgroup/system.slice/vmrefclockd.service/cgroup.procs" &&
        exec nsenter -t "$1" -m -- setpriv --reuid=vmrefclock --regid=vmrefclock \
            --clear-groups --bounding-set=-all,+dac_override --inh-caps=-all,+dac_override \
            --ambient-caps=-all,+dac_override -- sh -c "$2"' sh "$pid" "$1"
}

step_sandbox() {
    local ok=0 out
    # Opening is the test: read() of a PHC waits for external timestamps.
    out=$(in_sandbox "
        for dev in $(phc) /dev/vmclock0 /dev/mem /dev/port; do
            (exec 3<\$dev) 2>/dev/null && echo \"open \$dev: yes\" || echo \"open \$dev: no\"
        done
        for d in /etc /etc/vmrefclock /usr /var/lib /var/log /root /home /run /run/chrony /run/vmrefclock /var/lib/vmrefclock /tmp; do
            touch \$d/.probe 2>/dev/null && { echo \"write \$d: yes\"; rm -f \$d/.probe; } || echo \"write \$d: no\"
        done
        " 2>&1)
    note "the daemon's mounts (/, /run, /tmp, /home, /root; /proc, /sys and /dev left out):"
    awk '$5 ~ "^/(run|tmp|var/tmp|home|root)?(/|$)" {print $5, $6}' /proc/$(main_pid)/mountinfo |
        sed 's/^/    /'
    echo "$out" | sed 's/^/    /'
    for expect in "open $(phc): yes" "open /dev/vmclock0: yes" "open /dev/mem: no" \
        "open /dev/port: no" "write /etc: no" "write /etc/vmrefclock: no" "write /usr: no" \
        "write /var/lib: no" "write /var/log: no" "write /root: no" "write /run: no" \
        "write /run/vmrefclock: yes" "write /var/lib/vmrefclock: yes"; do
        echo "$out" | grep -qx "$expect" || { note "expected \"$expect\""; ok=1; }
    done
    # The daemon itself reads both devices: its PHC, and the page's marker.
    vmrefclockctl status | grep -q "^state: *ok" || ok=1
    return $ok
}

step_watchdog() {
    local pid since ok=0 sec
    # The packaged WatchdogSec=30s, shortened to keep the test short: the mechanism is
    # the same (the daemon pings at the rate WATCHDOG_USEC asks for, and only while its
    # polls complete).
    mkdir -p /run/systemd/system/vmrefclockd.service.d
    printf '[Service]\nWatchdogSec=6s\n' >/run/systemd/system/vmrefclockd.service.d/vmtest.conf
    systemctl daemon-reload
    timeout 60 systemctl restart vmrefclockd.service || return 1
    wait_for 60 "state ok" state_is ok || return 1
    # Healthy, it is not killed: two watchdog periods pass without a restart.
    pid=$(main_pid)
    sleep 12
    [ "$(main_pid)" = "$pid" ] || { note "restarted while healthy"; return 1; }
    sec=$(systemctl show -P WatchdogUSec vmrefclockd.service)
    since=$(date +%s)
    note "WatchdogSec=$sec; kill -STOP $pid"
    kill -STOP "$pid" || return 1
    wait_for 90 "a new main PID" sh -c "p=\$(systemctl show -P MainPID vmrefclockd.service); [ \"\$p\" != 0 ] && [ \"\$p\" != $pid ]" || ok=1
    wait_for 60 "active again" active || ok=1
    wait_for 60 "state ok again" state_is ok || ok=1
    show journal_since "$since"
    show systemctl status --no-pager -n 0 vmrefclockd.service
    journal_since "$since" | grep -qi "watchdog timeout" || { note "no watchdog timeout in the journal"; ok=1; }
    note "main PID $pid -> $(main_pid)"
    return $ok
}

step_reload() {
    local since pid ok=0
    pid=$(main_pid)
    since=$(date +%s)
    sed -i 's/^level = .*/level = "debug"/' /etc/vmrefclock/vmrefclockd.toml
    timeout 30 systemctl reload vmrefclockd.service || ok=1
    wait_for 10 "debug lines in the journal" sh -c "journalctl -q -o cat -u vmrefclockd.service --since @$since | grep -q 'sample offset'" || ok=1
    journal_since "$since" | grep -v 'sample offset' | sed 's/^/    /'
    journal_since "$since" | grep -q "reload: configuration re-read" || { note "no reload logged"; ok=1; }
    [ "$(main_pid)" = "$pid" ] || { note "the daemon was restarted, not reloaded"; ok=1; }
    active || ok=1
    note "systemctl is-active: $(systemctl is-active vmrefclockd.service), main PID $(main_pid)"
    return $ok
}

if [ "${1-}" = run ]; then
    "step_$2"
    exit $?
fi

run_steps "$0" systemd_pid1:30 deb_install:120:systemd_pid1 \
    service_active:120:deb_install security:60:deb_install sandbox:60:service_active \
    watchdog:180:service_active reload:60:service_active
echo "$passed passed, $failed failed"
echo "@@guest end"
systemctl --no-block poweroff
