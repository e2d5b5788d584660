#!/usr/bin/env python3
"""A SASL/PLAIN front for a broker that has no SASL (the test broker).

    sasl_proxy.py UPSTREAM_HOST:PORT USER PASSWORD

Listens on a free loopback port (printed on stdout as the first line) and,
for each client connection, connects to the upstream broker and:
  - forwards ApiVersions, adding SaslHandshake v0-1 and SaslAuthenticate
    v0-1 to the versions the upstream advertises;
  - answers SaslHandshake itself (PLAIN only) and SaslAuthenticate by
    checking the PLAIN token against USER / PASSWORD
    (SASL_AUTHENTICATION_FAILED otherwise);
  - closes the connection on any other request before authentication, as
    Kafka does, and forwards bytes both ways after it.
Written for kfk's tests; Kafka's wire format from its message schemas.
"""
import socket
import struct
import sys
import threading

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_frame(sock):
    (n,) = struct.unpack(">i", read_exact(sock, 4))
    return read_exact(sock, n)


def send_frame(sock, body):
    sock.sendall(struct.pack(">i", len(body)) + body)


def patch_api_versions(resp, version):
    """Adds the SASL APIs to an ApiVersions v0-v2 answer (not flexible)."""
    corr, err, n = struct.unpack(">ihi", resp[:10])
    if err != 0 or version > 2:
        return resp
    entries = resp[10:10 + 6 * n]
    rest = resp[10 + 6 * n:]
    keys = {struct.unpack(">h", entries[i:i + 2])[0] for i in range(0, len(entries), 6)}
    for key in (SASL_HANDSHAKE, SASL_AUTHENTICATE):
        if key not in keys:
            entries += struct.pack(">hhh", key, 0, 1)
            n += 1
    return struct.pack(">ihi", corr, err, n) + entries + rest


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client, upstream_addr, user, password):
    up = socket.create_connection(upstream_addr)
    try:
        while True:
            req = read_frame(client)
            key, ver, corr = struct.unpack(">hhi", req[:8])
            if key == API_VERSIONS:
                send_frame(up, req)
                send_frame(client, patch_api_versions(read_frame(up), ver))
                continue
            (cid_len,) = struct.unpack(">h", req[8:10])
            body = req[10 + max(cid_len, 0):]
            if key == SASL_HANDSHAKE:
                (mlen,) = struct.unpack(">h", body[:2])
                mech = body[2:2 + mlen].decode()
                err = 0 if mech == "PLAIN" else 33  # UNSUPPORTED_SASL_MECHANISM
                send_frame(client, struct.pack(">ihi", corr, err, 1) + struct.pack(">h", 5) + b"PLAIN")
                if err:
                    return
                continue
            if key == SASL_AUTHENTICATE:
                (tlen,) = struct.unpack(">i", body[:4])
                parts = body[4:4 + tlen].split(b"\0")
                ok = len(parts) == 3 and parts[1] == user and parts[2] == password
                if ok:
                    resp = struct.pack(">ihh", corr, 0, -1) + struct.pack(">i", 0)
                else:
                    msg = b"Authentication failed: invalid username or password"
                    resp = struct.pack(">ihh", corr, 58, len(msg)) + msg + struct.pack(">i", 0)
                if ver >= 1:
                    resp += struct.pack(">q", 0)
                send_frame(client, resp)
                if not ok:
                    return
                t = threading.Thread(target=pump, args=(up, client), daemon=True)
                t.start()
                pump(client, up)
                t.join()
                return
            return  # anything else before authentication: close
    except (EOFError, OSError, struct.error):
        pass
    finally:
        client.close()
        up.close()


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    upstream = (host, int(port))
    user, password = sys.argv[2].encode(), sys.argv[3].encode()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    print(ls.getsockname()[1], flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, upstream, user, password), daemon=True).start()


if __name__ == "__main__":
    main()
