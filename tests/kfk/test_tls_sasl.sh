#!/bin/sh
# kfk over TLS and SASL: a TLS terminator (socat OPENSSL-LISTEN, with a CA
# and a server certificate made here by the openssl command) in front of a
# one-broker test broker, and a SASL/PLAIN front (sasl_proxy.py, which
# checks the credentials and then forwards) behind a second terminator.
# `kfk metadata` needs only its bootstrap connection, so it runs entirely
# over TLS (and SASL): with the CA it succeeds, with an untrusted CA it
# fails with a TLS error, with --insecure it succeeds, a wrong password
# fails authentication, and the same settings work from a -F file. (The
# test broker has no TLS or SASL of its own and advertises its plain
# address, so produce/consume over TLS and SCRAM wait for a broker that
# has them.) Skipped when socat or openssl is missing.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null 2>&1 || skip "socat not installed"

start_broker -n 1 -t secure:2:1
BPORT=${B##*:}

P="$WORK/pki"
make_pki "$P"

# A terminator on a free port in front of port $1, with socat options $2
# (default: no client certificate asked); retried if another process takes
# the port first. Sets TPORT, appends its pid to PIDS.
PIDS=""
EXTRA_CLEANUP='for p in $PIDS; do kill $p 2>/dev/null || true; done'
start_socat() {
    TPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    socat "OPENSSL-LISTEN:$TPORT,bind=127.0.0.1,reuseaddr,fork,cert=$P/srv.pem,key=$P/srv.key,${2:-verify=0}" \
        "TCP:127.0.0.1:$1" 2>>"$WORK/socat.log" &
    PIDS="$PIDS $!"
    i=0
    while [ $i -lt 100 ]; do
        kill -0 $! 2>/dev/null || return 1
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $TPORT), 1).close()" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
terminator() {
    for try in 1 2 3; do
        if start_socat "$1" "${2:-}"; then return 0; fi
    done
    show "$WORK/socat.log"
    fail "socat did not start"
}
terminator "$BPORT"
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

# Mutual TLS: a terminator that requires a client certificate from the CA.
terminator "$BPORT" "verify=1,cafile=$P/ca.pem"
MTLS_B="127.0.0.1:$TPORT"
kfk -b "$MTLS_B" --ca "$P/ca.pem" --cert "$P/cli.pem" --cert-key "$P/cli.key" metadata -t secure >/dev/null \
    2>"$WORK/err" || { show "$WORK/err"; fail "mutual TLS with a client certificate"; }
expect_status 1 kfk -b "$MTLS_B" --ca "$P/ca.pem" metadata 2>/dev/null
printf 'bootstrap.servers=%s\nssl.ca.location=%s\nssl.certificate.location=%s\nssl.key.location=%s\n' \
    "$MTLS_B" "$P/ca.pem" "$P/cli.pem" "$P/cli.key" >"$WORK/mtls.conf"
kfk -F "$WORK/mtls.conf" metadata -t secure >/dev/null || fail "mutual TLS from a -F file"

# SASL/PLAIN behind TLS (security.protocol=sasl_ssl).
python3 "$(dirname "$0")/sasl_proxy.py" "127.0.0.1:$BPORT" alice 's3cret pw' >"$WORK/proxy.port" 2>"$WORK/proxy.log" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$WORK/proxy.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
SPORT=$(head -1 "$WORK/proxy.port")
[ -n "$SPORT" ] || { show "$WORK/proxy.log"; fail "sasl_proxy did not start"; }
terminator "$SPORT"
SASL_B="127.0.0.1:$TPORT"
kfk -b "$SASL_B" --ca "$P/ca.pem" --sasl-mechanism PLAIN --sasl-user alice --sasl-password 's3cret pw' \
    metadata -t secure --json >"$WORK/sasl.json" 2>"$WORK/err" || { show "$WORK/err"; fail "TLS+SASL metadata"; }
json_ok "$WORK/sasl.json"
grep -q '"name":"secure"' "$WORK/sasl.json" || { show "$WORK/sasl.json"; fail "TLS+SASL metadata output"; }
expect_status 1 kfk -b "$SASL_B" --ca "$P/ca.pem" --sasl-mechanism PLAIN --sasl-user alice --sasl-password wrong \
    metadata 2>"$WORK/err"
grep -qi "authentication failed" "$WORK/err" || { show "$WORK/err"; fail "wrong password: no authentication error"; }
expect_status 1 kfk -b "$SASL_B" --ca "$P/ca.pem" --sasl-mechanism SCRAM-SHA-512 --sasl-user alice \
    --sasl-password 's3cret pw' metadata 2>"$WORK/err"
grep -q "SCRAM-SHA-512 rejected" "$WORK/err" || { show "$WORK/err"; fail "unsupported mechanism message"; }
cat >"$WORK/sasl.conf" <<CONF
bootstrap.servers=$SASL_B
security.protocol=SASL_SSL
ssl.ca.location=$P/ca.pem
sasl.mechanisms=PLAIN
sasl.username=alice
sasl.password=s3cret pw
client.id=kfk-sasl-test
CONF
kfk -F "$WORK/sasl.conf" metadata -t secure >/dev/null || fail "TLS+SASL from a -F file"

echo "ok: kfk over TLS and SASL"
