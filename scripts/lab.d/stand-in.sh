# (body of every stand-in; make_files in services.sh puts name, proto, addr,
# port and socket above it)
case "$1" in --version|-V|version) echo "$name lab-stand-in"; exit 0 ;; esac
echo "$name lab stand-in started: $*"
while [ $# -gt 0 ]; do
    case "$1" in
        --address=*) addr=${1#*=} ;;
        --port=*) port=${1#*=} ;;
        --socket=*) socket=${1#*=} ;;
        --socket) [ $# -lt 2 ] || { socket=$2; shift; } ;;
    esac
    shift
done
[ -n "$port" ] || exec sleep infinity
# With --socket (chatmail-turn): like the real program, write one line of
# TURN credentials "username:password" to every client of that UNIX socket,
# the username being the expiry time (5 days ahead, as the real one) and the
# password random (base64 of 20 bytes, the length of the real HMAC-SHA1), so
# that every answer differs. The socket gets the service's umask, as the
# real one: its owner (vmail, as chatmail-metadata) and root may connect.
exec perl -MIO::Socket::IP -MIO::Socket::UNIX -e '
    my ($name, $proto, $addr, $port, $sock) = @ARGV;
    my $s = IO::Socket::IP->new(LocalHost => $addr, LocalPort => $port, Proto => $proto, ReuseAddr => 1,
        ($proto eq "tcp" ? (Listen => 16) : ())) or die "$name lab stand-in: cannot listen on $addr $port/$proto: $@\n";
    $0 = $name;   # on Linux this also sets the name ss and ps show
    sleep unless $sock;
    unlink $sock;
    my $u = IO::Socket::UNIX->new(Local => $sock, Listen => 16) or die "$name lab stand-in: cannot listen on $sock: $!\n";
    open my $rnd, "<:raw", "/dev/urandom" or die "$name lab stand-in: /dev/urandom: $!\n";
    $SIG{PIPE} = "IGNORE";
    while (1) {
        my $c = $u->accept or next;
        read($rnd, my $raw, 20) == 20 or die "$name lab stand-in: short read from /dev/urandom\n";
        my $pw = pack "u", $raw;   # uuencode, mapped to the base64 alphabet
        $pw =~ s/^.//mg; $pw =~ s/\n//g; $pw =~ tr|` -_|AA-Za-z0-9+/|; $pw =~ s/.$/=/;
        print {$c} time() + 5 * 24 * 3600, ":", $pw, "\n";
        close $c;
    }' "$name" "$proto" "$addr" "$port" "$socket"
