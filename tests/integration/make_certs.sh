#!/usr/bin/env bash
# make_certs.sh DIR - test certificates for mnemod's TLS tests and the
# benchmark, made at test time with the openssl CLI (nothing is committed).
#
# Writes into DIR (created if needed), each NAME.pem with its NAME.key
# (EC P-256, unencrypted PEM, mode 600):
#   ca             test CA "mnemo test CA"
#   server         from ca: CN=mnemod, SAN DNS:localhost, IP:127.0.0.1
#   server2        from ca: CN=mnemod-rotated, same SANs (a rotation target)
#   client         from ca: CN=mnemo-client, SAN DNS:client.mnemo.test (clientAuth)
#   other-ca       another CA, "mnemo other CA"
#   other-client   from other-ca: CN=mnemo-client, same SAN (refused by mTLS)
#   expired        from ca: like server, valid 2020-01-01 .. 2020-02-01 only
#   wrong-host     from ca: CN=wrong.example, SAN DNS:wrong.example only
# Certificates are valid for 30 days from now (expired.pem excepted) and
# carry the extensions a strict verifier wants (CA basicConstraints and
# keyUsage, key identifiers, extendedKeyUsage on leaves). Takes well under
# a second. Exit status 0, or non-zero with openssl's message.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: make_certs.sh DIR" >&2
    exit 2
fi
command -v openssl >/dev/null || { echo "make_certs.sh: the openssl CLI is not installed" >&2; exit 1; }
mkdir -p "$1"
cd "$1"
umask 077
work=$(mktemp -d make-certs.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat >"$work/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1

[wrong_host_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
extendedKeyUsage = clientAuth
subjectAltName = DNS:client.mnemo.test

# `openssl ca` signs expired.pem: the only way in OpenSSL 3.0 to choose
# both validity dates.
[ca]
default_ca = test_ca
[test_ca]
database = WORK/index.txt
new_certs_dir = WORK
serial = WORK/serial
default_md = sha256
policy = policy_any
unique_subject = no
[policy_any]
organizationName = optional
commonName = supplied
EOF
sed -i "s|WORK|$work|g" "$work/openssl.cnf"
: >"$work/index.txt"
echo 1000 >"$work/serial"

cnf=$work/openssl.cnf
serial=100

newkey() { # newkey NAME
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"
}

make_ca() { # make_ca NAME CN
    newkey "$1"
    openssl req -config "$cnf" -new -x509 -key "$1.key" -subj "/O=mnemo test/CN=$2" \
        -days 30 -sha256 -extensions ca_ext -out "$1.pem"
}

make_leaf() { # make_leaf NAME CA CN EXTENSIONS
    newkey "$1"
    openssl req -config "$cnf" -new -key "$1.key" -subj "/O=mnemo test/CN=$3" -out "$work/$1.csr"
    serial=$((serial + 1))
    openssl x509 -req -in "$work/$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$serial" \
        -days 30 -sha256 -extfile "$cnf" -extensions "$4" -out "$1.pem" 2>/dev/null
}

make_ca ca "mnemo test CA"
make_ca other-ca "mnemo other CA"
make_leaf server ca mnemod server_ext
make_leaf server2 ca mnemod-rotated server_ext
make_leaf client ca mnemo-client client_ext
make_leaf other-client other-ca mnemo-client client_ext
make_leaf wrong-host ca wrong.example wrong_host_ext

newkey expired
openssl req -config "$cnf" -new -key expired.key -subj "/O=mnemo test/CN=mnemod-expired" \
    -out "$work/expired.csr"
openssl ca -batch -config "$cnf" -cert ca.pem -keyfile ca.key -in "$work/expired.csr" \
    -out expired.pem -startdate 20200101000000Z -enddate 20200201000000Z \
    -extfile "$cnf" -extensions server_ext -notext 2>/dev/null

# What the tests rely on, checked here so that a broken openssl shows up
# as this script failing rather than as a puzzling test.
for leaf in server server2 client wrong-host; do
    openssl verify -CAfile ca.pem "$leaf.pem" >/dev/null
done
openssl verify -CAfile other-ca.pem other-client.pem >/dev/null
if openssl x509 -in expired.pem -noout -checkend 0 >/dev/null; then
    echo "make_certs.sh: expired.pem is not expired" >&2
    exit 1
fi
