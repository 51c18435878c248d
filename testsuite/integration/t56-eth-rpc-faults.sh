#!/bin/bash
# The JSON-RPC client's faults, provoked for real: an endpoint that is
# down, then up, then down again (a private anvil we start and stop); one
# that accepts and never answers (a Python listener); TLS through a socat
# proxy in front of the shared anvil with a certificate of our own CA:
# refused without that CA, refused for a host name the certificate does
# not carry, accepted with it.
. "$(dirname "$0")/lib.sh"

tool=$T_BUILD/testsuite/integration/eth_tool
if ! t_use_cluster || [ -z "${QUORATE_CHAIN_RPC:-}" ]; then
	t_fail "the shared test cluster with anvil is running"
	exit 1
fi
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Stop a process we started, by pid (still ours: its command name checked),
# and wait for it.
stop_pid() {
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 0
	kill "$1" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
}
addr=0xa0Ee7A142d267C1f36714E4a8F75612F20a79720

# --- down, up, down ---
port=$(free_port)
start=$(date +%s%N)
out=$("$tool" info --rpc "http://127.0.0.1:$port" --address "$addr" 2>&1)
status=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
t_eq "endpoint down: a transport failure (exit 2)" "$status" "2"
t_match "endpoint down: curl's reason" "$out" "Couldn't connect to server"
t_match "endpoint down: fails at once (${ms} ms)" "$ms" "^[0-9]{1,4}$"

setsid "$T_TOP/contracts/node_modules/.bin/anvil" --host 127.0.0.1 --port "$port" --chain-id 4242 \
	< /dev/null > "$T_TMP/anvil.log" 2>&1 &
anvil_pid=$!
t_on_exit "stop_pid $anvil_pid node"
if t_wait 30 listening "$port"; then t_pass "a private anvil starts"; else t_fail "a private anvil starts" "$(cat "$T_TMP/anvil.log")"; fi
out=$("$tool" info --rpc "http://127.0.0.1:$port" --address "$addr" 2>&1)
t_eq "endpoint back: the same call succeeds" "$?" "0"
t_match "endpoint back: the private chain's id" "$out" "chain-id 4242"
stop_pid "$anvil_pid" node
out=$("$tool" info --rpc "http://127.0.0.1:$port" --address "$addr" 2>&1)
t_eq "endpoint gone again: a transport failure (exit 2)" "$?" "2"

# --- an endpoint that accepts and never answers ---
port=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
held = [s.accept() for _ in range(8)]
time.sleep(60)' "$port" > "$T_TMP/hang.log" 2>&1 &
hang_pid=$!
t_on_exit "stop_pid $hang_pid python3"
t_wait 10 listening "$port" >/dev/null 2>&1
start=$(date +%s%N)
out=$("$tool" info --timeout 1500 --rpc "http://127.0.0.1:$port" --address "$addr" 2>&1)
status=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
t_eq "a silent endpoint: a transport failure (exit 2)" "$status" "2"
t_match "a silent endpoint: curl's timeout" "$out" "Timeout was reached"
if [ "$ms" -ge 1400 ] && [ "$ms" -lt 3000 ]; then
	t_pass "a silent endpoint: given up after the 1.5 s timeout (${ms} ms)"
else
	t_fail "a silent endpoint: given up after the 1.5 s timeout" "took ${ms} ms"
fi
stop_pid "$hang_pid" python3

# --- TLS ---
pki=$T_TMP/pki
mkdir -p "$pki"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
if openssl req -x509 $ec -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 -subj /CN=quorate-test-ca \
	> "$pki/log" 2>&1 &&
   openssl req $ec -keyout "$pki/srv.key" -out "$pki/srv.csr" -subj /CN=127.0.0.1 >> "$pki/log" 2>&1 &&
   printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > "$pki/ext" &&
   openssl x509 -req -in "$pki/srv.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
	-out "$pki/srv.pem" -days 2 -extfile "$pki/ext" >> "$pki/log" 2>&1; then
	t_pass "a test CA and a server certificate for IP 127.0.0.1"
else
	t_fail "a test CA and a server certificate for IP 127.0.0.1" "$(cat "$pki/log")"
fi
port=$(free_port)
upstream=${QUORATE_CHAIN_RPC#http://}
socat "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,cert=$pki/srv.pem,key=$pki/srv.key,verify=0" \
	"TCP:$upstream" > "$T_TMP/tls.log" 2>&1 &
tls_pid=$!
t_on_exit "stop_pid $tls_pid socat"
t_wait 10 listening "$port" >/dev/null 2>&1
out=$("$tool" info --rpc "https://127.0.0.1:$port" --address "$addr" 2>&1)
t_eq "https with an unknown CA: refused (exit 2)" "$?" "2"
t_match "https with an unknown CA: the certificate is named" "$out" "SSL certificate problem|certificate"
out=$("$tool" info --rpc "https://localhost:$port" --ca-file "$pki/ca.pem" --address "$addr" 2>&1)
t_eq "https to a name the certificate lacks: refused (exit 2)" "$?" "2"
t_match "https to a name the certificate lacks: host name mismatch" "$out" "subject name|host name|does not match"
out=$("$tool" info --rpc "https://127.0.0.1:$port" --ca-file "$pki/ca.pem" --address "$addr" 2>&1)
t_eq "https with our CA: JSON-RPC over TLS works" "$?" "0"
t_match "https with our CA: anvil answers through TLS" "$out" "chain-id 31337"
stop_pid "$tls_pid" socat
t_done
