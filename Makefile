# outpost - see README.md.
#
#   make run     install missing Debian packages (as root), build, start the embedded default
#   make test    install what the tests need, build with ASan+UBSan, run every test
#   make         build build/outpost (optimised)
#   make bench-pop3   run outpost and Dovecot side by side (not part of make test)
#   make bench-smtp   run outpost and Postfix side by side (not part of make test)
#   make bench-dns-auth   dns_auth_respond in a loop on a generated zone (not part of make test)
#   make bench-dns    run outpost, NSD and Knot side by side (not part of make test)
#   make bench-queue  queue_submit() throughput with 10 threads (not part of make test)
#   make bench-ftp    run outpost and vsftpd side by side (not part of make test)

CC      ?= cc
PKGS    := openssl sqlite3 libxcrypt libidn libedit
CSTD    := -std=c17 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS_COMMON = $(CSTD) $(WARN) -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -pthread -MMD -MP
LDLIBS  = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lsqlite3 -lcrypt -lidn -ledit) -pthread

SRC      := $(sort $(wildcard src/*/*.c))
LIB_SRC  := $(filter-out src/cli/main.c,$(SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

REL := build/release
SAN := build/asan
FZ  := build/fuzz

REL_CFLAGS := -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined

.PHONY: all run test asan unit fuzz setup setup-test bench-pop3 bench-smtp bench-dns bench-dns-auth bench-queue bench-ftp clean
all: $(REL)/outpost

$(REL)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(REL_CFLAGS) -c $< -o $@
$(SAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SAN_CFLAGS) -c $< -o $@
$(FZ)/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(CFLAGS_COMMON) $(FUZZ_CFLAGS) -c $< -o $@

$(REL)/outpost: $(SRC:%.c=$(REL)/%.o)
	$(CC) $(REL_CFLAGS) $^ -o $@ $(LDLIBS)
	@ln -sf release/outpost build/outpost

$(SAN)/outpost: $(SRC:%.c=$(SAN)/%.o)
	$(CC) $(SAN_CFLAGS) $^ -o $@ $(LDLIBS)
$(SAN)/unit-tests: $(LIB_SRC:%.c=$(SAN)/%.o) $(UNIT_SRC:%.c=$(SAN)/%.o)
	$(CC) $(SAN_CFLAGS) $^ -o $@ $(LDLIBS)

asan: $(SAN)/outpost $(SAN)/unit-tests
unit: $(SAN)/unit-tests
	$(SAN)/unit-tests

# One libFuzzer binary per tests/fuzz/fuzz_NAME.c, linked with the library code.
FUZZERS := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(FZ)/fuzz_%)
$(FZ)/fuzz_%: $(FZ)/tests/fuzz/fuzz_%.o $(LIB_SRC:%.c=$(FZ)/%.o)
	clang -fsanitize=fuzzer,address,undefined $^ -o $@ $(LDLIBS)
fuzz: $(FUZZERS)

setup:
	@scripts/setup.sh run
setup-test:
	@scripts/setup.sh test

run: setup
	@$(MAKE) --no-print-directory all
	build/outpost serve

test: setup-test
	@$(MAKE) --no-print-directory asan fuzz
	@tests/run.sh

bench-pop3: setup
	@scripts/setup.sh bench
	@$(MAKE) --no-print-directory all
	@bench/pop3/run.sh

bench-smtp: setup
	@scripts/setup.sh bench
	@$(MAKE) --no-print-directory all
	@bench/smtp/run.sh

# The authoritative answer path alone, no sockets (bench/dns/authloop.c).
$(REL)/authloop: $(REL)/bench/dns/authloop.o $(LIB_SRC:%.c=$(REL)/%.o)
	$(CC) $(REL_CFLAGS) $^ -o $@ $(LDLIBS)
bench-dns-auth: $(REL)/authloop
	$(REL)/authloop 10000 3
# The socket work of a UDP answer alone (bench/dns/udpfloor.c), for bench-dns.
$(REL)/udpfloor: bench/dns/udpfloor.c
	$(CC) $(REL_CFLAGS) $< -o $@
bench-dns: setup
	@scripts/setup.sh bench
	@$(MAKE) --no-print-directory all $(REL)/udpfloor
	@bench/dns/run.sh

# Durable submits per second, 10 threads of 1 KiB messages (bench/queue/submit.c).
$(REL)/queue-bench: $(REL)/bench/queue/submit.o $(LIB_SRC:%.c=$(REL)/%.o)
	$(CC) $(REL_CFLAGS) $^ -o $@ $(LDLIBS)
bench-queue: $(REL)/queue-bench
	@bench/queue/run.sh $(REL)/queue-bench
bench-ftp: setup
	@scripts/setup.sh bench
	@$(MAKE) --no-print-directory all
	@bench/ftp/run.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
