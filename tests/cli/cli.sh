#!/usr/bin/env bash
# Command-line errors: each bad flag, value or input gives a message naming
# the problem on stderr and the documented exit status (2 usage, 1 runtime);
# a truncated capture is read up to the damage and exits 0.
#
# usage: cli.sh PROCSNIFF CORPUS
set -uo pipefail
bin=$1
corpus=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

expect() { # status regex args...
	local want=$1 re=$2
	shift 2
	timeout 30 "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" -eq "$want" ] && grep -Eq "$re" "$tmp/err"; then
		pass=$((pass + 1))
		echo "ok    $* -> $got"
	else
		fail=$((fail + 1))
		echo "FAIL  $* -> $got (want $want, stderr matching /$re/):"
		sed 's/^/      /' "$tmp/err"
	fi
}

http="$corpus/http/ndpi-http.pcapng"
expect 2 'workers: bad value "0"' -W 0 -r "$http"
expect 2 'workers: bad value "x"' --workers x -r "$http"
expect 2 'duration: bad value "-1"' --duration -1 -r "$http"
expect 2 'block-size: bad value' --block-size 1000 -i lo
expect 2 'unknown backend "nope"' --backend nope -i lo
expect 2 'cannot be used together' -i lo -r "$http"
expect 2 'see --help' --no-such-flag
expect 2 'unexpected argument "extra"' -r "$http" extra
expect 1 'no such interface "nosuchif0"' -i nosuchif0 --duration 1
expect 1 'cannot read /nonexistent.pcap' -r /nonexistent.pcap
expect 1 'bad filter "tcp port"' -r "$http" -f 'tcp port'
expect 1 'cannot write /nonexistent-dir/x' -r "$http" --json-file /nonexistent-dir/x

# Live capture without the privilege for it: a message saying what is needed.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	unpriv=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	bin_saved=$bin
	expect_unpriv() {
		timeout 30 "${unpriv[@]}" "$bin_saved" "$@" >"$tmp/out" 2>"$tmp/err"
		local got=$?
		if [ "$got" -eq 1 ] && grep -q 'needs root or CAP_NET_RAW' "$tmp/err"; then
			pass=$((pass + 1)); echo "ok    unprivileged $* -> 1"
		else
			fail=$((fail + 1)); echo "FAIL  unprivileged $* -> $got:"; sed 's/^/      /' "$tmp/err"
		fi
	}
	expect_unpriv -i lo --duration 1
	expect_unpriv -i lo --backend pcap --duration 1
fi

# A file cut in the middle of a record: what precedes it is reported.
head -c 1000 "$corpus/http/ndpi-ipp.pcap" >"$tmp/trunc.pcap"
expect 0 'truncated' -r "$tmp/trunc.pcap" --json
if grep -q '"event":"flow"' "$tmp/out" && grep -q '"final":true' "$tmp/out"; then
	pass=$((pass + 1)); echo "ok    truncated file: flows and final stats written"
else
	fail=$((fail + 1)); echo "FAIL  truncated file: output incomplete"
fi
# --count stops after exactly N packets of a file, whatever the worker count.
for w in 1 2; do
	timeout 30 "$bin" -r "$corpus/http/ndpi-ipp.pcap" -c 57 -W $w --json >"$tmp/out" 2>"$tmp/err"
	if tail -1 "$tmp/out" | grep -q '"worker":"all","packets":57,'; then
		pass=$((pass + 1)); echo "ok    -c 57 -W $w: 57 packets"
	else
		fail=$((fail + 1)); echo "FAIL  -c 57 -W $w: $(tail -1 "$tmp/out")"
	fi
done

# Not a capture at all.
echo "hello" >"$tmp/text.pcap"
expect 1 'cannot read' -r "$tmp/text.pcap"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
