# Renders the suite's plots from bench/results/*.dat (written by brook_bench).
# Usage: gnuplot -e "results='bench/results'" bench/plot.gp
if (!exists("results")) results = 'bench/results'

set terminal pngcairo size 1200,640 noenhanced font ",10"
set datafile missing "NaN"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set logscale y

set output results.'/throughput.png'
set title "Throughput by system (million records/s, log scale; same records, same commit batch)"
set ylabel "million records/s"
plot for [i=2:8] results.'/throughput.dat' using i:xtic(1) title columnheader(i)

set output results.'/latency.png'
set title "Latency percentiles (microseconds, log scale)"
set ylabel "microseconds"
set xtics rotate by 40 right
set bmargin 12
set key top left
plot for [i=2:4] results.'/latency.dat' using i:xtic(1) title columnheader(i)
