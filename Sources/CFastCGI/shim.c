// SwiftPM needs one source file per C target; the API is all in the header.
#include "CFastCGI.h"
