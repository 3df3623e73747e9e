// libmosquitto's client API (Debian's libmosquitto-dev), for trackd's MQTT receiver.
#include <mosquitto.h>
