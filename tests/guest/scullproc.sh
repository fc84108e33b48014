#!/bin/sh
# Guest tests for scull's /proc files: /proc/scullmem, /proc/scullseq (seq_file, one record
# per device) and /proc/scullpipe, checked against the devices' real state.
# shellcheck shell=sh
. "$(dirname "$0")/lib.sh"

T=ldd3test

fresh() {
	if mod_loaded scull; then rmmod scull || fail "rmmod scull failed"; fi
	mod_load scull "$@"
	wait_for /dev/scullpipe0
}

t_mem_and_seq() {
	fresh scull_nr_devs=2
	printf hello >/dev/scull0
	# 10000 bytes at quantum 4000: item 0 holds 3 quanta.
	dd if=/dev/zero of=/dev/scull1 bs=10000 count=1 2>/dev/null
	expected="
Device 0: qset 1000, q 4000, sz 5
  item 0: 1 quanta

Device 1: qset 1000, q 4000, sz 10000
  item 0: 3 quanta"
	assert_eq "$expected" "$(cat /proc/scullmem)" "/proc/scullmem"
	assert_eq "$expected" "$(cat /proc/scullseq)" "/proc/scullseq"
	# seq_file resumes at a record boundary: reading in 7-byte pieces gives the same text.
	assert_eq "$expected" "$(dd if=/proc/scullseq bs=7 2>/dev/null)" "scullseq read in small pieces"
	# A hole: quantum 16, qset 2 (32-byte items); a byte at offset 100 fills item 3 only.
	$T ioctl /dev/scull0 SCULL_IOCTQUANTUM 16 >/dev/null
	$T ioctl /dev/scull0 SCULL_IOCTQSET 2 >/dev/null
	: >/dev/scull1 # O_WRONLY: truncated, takes quantum 16 / qset 2
	$T pwrite /dev/scull1 100 x >/dev/null
	assert_contains "$(cat /proc/scullseq)" "Device 1: qset 2, q 16, sz 101
  item 0: 0 quanta
  item 1: 0 quanta
  item 2: 0 quanta
  item 3: 1 quanta" "/proc/scullseq after a sparse write"
	$T ioctl /dev/scull0 SCULL_IOCRESET >/dev/null
}

t_pipe() {
	fresh scull_p_nr_devs=1 scull_p_buffer=100
	assert_eq "Default buffersize is 100

Device 0:
   Buffer: size 0, rp 0, wp 0, available 0
   Readers 0, writers 0" "$(cat /proc/scullpipe)" "/proc/scullpipe before any open"
	printf 0123456789 >/dev/scullpipe0
	assert_contains "$(cat /proc/scullpipe)" "Buffer: size 100, rp 0, wp 10, available 10
   Readers 0, writers 0" "/proc/scullpipe with 10 bytes queued"
	# A reader blocked on the pipe shows up; so does its position after it read.
	$T run /dev/scullpipe0 rdonly read1=100 read1=100 >/tmp/sp.out 2>&1 &
	r=$!
	n=50
	while ! grep -q "Readers 1, writers 0" /proc/scullpipe && [ $n -gt 0 ]; do
		usleep 100000
		n=$((n - 1))
	done
	assert_contains "$(cat /proc/scullpipe)" "rp 10, wp 10, available 0
   Readers 1, writers 0" "/proc/scullpipe with a blocked reader"
	kill $r
	wait $r 2>/dev/null || true
	assert_contains "$(cat /proc/scullpipe)" "Readers 0, writers 0" "/proc/scullpipe after the reader left"
}

test_case mem-and-seq t_mem_and_seq
test_case pipe t_pipe
test_case unload mod_unload scull
