#!/bin/sh
# Installs the Debian packages outpost needs, saying what it does.
#   scripts/setup.sh run     to build and run
#   scripts/setup.sh test    also what the tests need (clang, Python, real clients)
#   scripts/setup.sh bench   also the peer servers the benchmarks compare with
set -e
what=${1:-run}

pkgs="gcc make pkg-config libc6-dev libssl-dev libsqlite3-dev libcrypt-dev libidn-dev libedit-dev openssl ca-certificates"
case $what in
test)  pkgs="$pkgs clang libclang-rt-14-dev python3 python3-pytest python3-pytest-xdist curl fetchmail procps dovecot-core dovecot-pop3d"
       # DNS clients for tests/interop/test_dns*.py; NSD and Knot as reference servers
       # and as secondaries of outpost (test_dns_xfr.py)
       pkgs="$pkgs bind9-dnsutils knot-dnsutils ldnsutils python3-dnspython nsd knot bind9-utils"
       # SMTP clients for tests/interop/test_smtp*.py (swaks needs the perl modules for TLS and AUTH)
       pkgs="$pkgs swaks msmtp libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl"
       # the remote SMTP server that outgoing delivery is tested against
       pkgs="$pkgs python3-aiosmtpd"
       # Postfix: reply codes compared with its smtpd (test_smtp_differential.py)
       pkgs="$pkgs postfix"
       # FTP clients for tests/interop/test_ftp_clients.py
       pkgs="$pkgs lftp tnftp"
       # FTP: vsftpd as the server for the client's tests (test_ftp_client.py),
       # which makes a system user for its logins (passwd: useradd, chpasswd)
       pkgs="$pkgs vsftpd passwd" ;;
bench) pkgs="$pkgs python3 dovecot-core dovecot-pop3d procps nsd knot dnsperf postfix"
       # bench/ftp: vsftpd as the peer (PAM login of a system user: passwd for chpasswd)
       pkgs="$pkgs vsftpd passwd" ;;
esac

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "outpost needs these Debian packages:$missing"
    echo "Install them as root (apt-get install$missing) or run this as root."
    exit 1
fi
echo "setup: installing Debian packages:$missing"
# Installing a server package must not start it: policy-rc.d says no.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix (bench/smtp) is run from its own config directory: the package must
# not configure a system mail server ("No configuration"; nothing on port 25).
case " $missing " in *" postfix "*)
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections ;;
esac
# A fresh machine has no package lists yet; refresh them when an install fails.
apt-get install -y -q --no-install-recommends $missing >/tmp/outpost-apt.log 2>&1 || {
    apt-get update -q >/tmp/outpost-apt.log 2>&1
    apt-get install -y -q --no-install-recommends $missing >/tmp/outpost-apt.log 2>&1 || {
        cat /tmp/outpost-apt.log; exit 1; }
}
echo "setup: done"
