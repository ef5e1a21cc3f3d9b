#ifndef DEMUX_VERSION_H
#define DEMUX_VERSION_H
#define DEMUX_VERSION "0.1.0"
#endif
