#ifndef CFASTCGI_H
#define CFASTCGI_H
// libfcgi's thread-safe API only (fcgiapp.h, FCGX_*_r); fcgi_stdio.h is not thread-safe.
#include <fcgiapp.h>
#endif
