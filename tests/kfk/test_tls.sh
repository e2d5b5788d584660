#!/bin/sh
# kfk over TLS: a TLS terminator (socat OPENSSL-LISTEN, with a CA and a
# server certificate made here by the openssl command) in front of a
# one-broker test broker. `kfk metadata` needs only its bootstrap
# connection, so it runs entirely over TLS: with the CA it succeeds, with
# an untrusted CA it fails with a TLS error, with --insecure it succeeds,
# and the same settings work from a -F file. (The test broker has no TLS
# or SASL of its own, so produce/consume over TLS and every SASL run wait
# for a broker that has them.) Skipped when socat or openssl is missing.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null 2>&1 || skip "socat not installed"
command -v openssl >/dev/null 2>&1 || skip "openssl not installed"

start_broker -n 1 -t secure:2:1
BPORT=${B##*:}

# PKI: a CA, a server certificate for 127.0.0.1/localhost, another CA.
P="$WORK/pki"
mkdir -p "$P"
(
    cd "$P"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
        -days 2 -subj /CN=kfk-test-ca
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem \
        -days 2 -subj /CN=kfk-other-ca
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext
) >"$WORK/openssl.log" 2>&1 || { show "$WORK/openssl.log"; fail "openssl could not make the test PKI"; }

# The terminator, on a free port (retried if another process takes it).
start_socat() {
    TPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    socat "OPENSSL-LISTEN:$TPORT,bind=127.0.0.1,reuseaddr,fork,cert=$P/srv.pem,key=$P/srv.key,verify=0" \
        "TCP:127.0.0.1:$BPORT" 2>"$WORK/socat.log" &
    SOCAT=$!
    i=0
    while [ $i -lt 100 ]; do
        kill -0 $SOCAT 2>/dev/null || return 1
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $TPORT), 1).close()" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
started=0
for try in 1 2 3; do
    if start_socat; then started=1; break; fi
done
[ $started -eq 1 ] || { show "$WORK/socat.log"; fail "socat did not start"; }
EXTRA_CLEANUP='kill $SOCAT 2>/dev/null || true'
TLS_B="127.0.0.1:$TPORT"

kfk -b "$TLS_B" --ca "$P/ca.pem" metadata -t secure >"$WORK/md" 2>"$WORK/err" || { show "$WORK/err"; fail "TLS metadata"; }
grep -q 'topic "secure" with 2 partitions' "$WORK/md" || { show "$WORK/md"; fail "TLS metadata output"; }
kfk -b "$TLS_B" --ca "$P/ca.pem" --server-name localhost metadata --json >"$WORK/md.json" || fail "TLS --server-name"
json_ok "$WORK/md.json"

expect_status 1 kfk -b "$TLS_B" --ca "$P/other.pem" metadata 2>"$WORK/err"
grep -qi "tls\|certificate" "$WORK/err" || { show "$WORK/err"; fail "untrusted CA: no TLS error text"; }
expect_status 1 kfk -b "$TLS_B" --ca "$P/ca.pem" --server-name broker.example metadata 2>/dev/null
kfk -b "$TLS_B" --tls --insecure metadata -t secure >/dev/null || fail "--insecure"

printf 'bootstrap.servers=%s\nsecurity.protocol=ssl\nssl.ca.location=%s\n' "$TLS_B" "$P/ca.pem" >"$WORK/tls.conf"
kfk -F "$WORK/tls.conf" metadata -t secure >/dev/null || fail "TLS from a -F file"
# Plain TCP to the TLS port: an error, not a hang.
expect_status 1 kfk -b "$TLS_B" --timeout 5000 metadata 2>/dev/null

echo "ok: kfk over TLS"
