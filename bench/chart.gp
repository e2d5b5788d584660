# Chart of bench/run.sh results: how many times better libkafka is than
# librdkafka on each headline metric (throughput: libkafka/librdkafka;
# CPU per message, ns per enqueue call, p50 latency: librdkafka/libkafka),
# so every bar reads "higher is better" and 1 is parity (log scale).
# Usage: gnuplot -e "datafile='latest.dat'; outfile='latest.png'" chart.gp
if (!exists("datafile")) datafile = 'bench/results/latest.dat'
if (!exists("outfile")) outfile = 'bench/results/latest.png'
set terminal pngcairo size 1400,700 font ",10"
set output outfile
set title "libkafka vs librdkafka 2.0.2, same run, 3-broker test broker (medians; > 1 = libkafka better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.8
set logscale y 2
set yrange [0.1:*]
set ylabel "advantage factor (log2)"
set xtics rotate by -40 left noenhanced
set grid ytics
set key off
set bmargin 14
set rmargin 12
plot datafile using 2:xtic(1) linecolor rgb "#3a7dc9", 1 with lines linecolor rgb "#c0392b" linewidth 2 dashtype 2
