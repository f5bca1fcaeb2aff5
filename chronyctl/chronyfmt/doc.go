// Package chronyfmt renders chronyctl's reports in chronyc's layouts,
// value for value: the number helpers of chronyc's client.c
// (print_seconds, print_nanoseconds, print_signed_nanoseconds,
// print_freq_ppm), the "sources" table with its -v legend and the
// "tracking" report. The layouts are the same in chrony 4.0 to 4.8.
package chronyfmt
