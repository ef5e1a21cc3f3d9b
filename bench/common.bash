# Shared by the benchmark scripts (bench/*.sh); sourced, never run alone
# (bench/run runs every bench/*.sh, hence this name).

# stats NAME VALUES...: count, median, 90th percentile, min and max of the
# numbers (milliseconds), one line.
stats() {
	local name=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v n="$name" '{v[NR]=$1} END {
		if (NR == 0) exit
		printf "  %-36s n=%-3d median=%8.1f  p90=%8.1f  min=%8.1f  max=%8.1f ms\n",
			n, NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[1], v[NR] }'
}
