/*
 * libkafka — symbol export macro.
 *
 * The shared library is built with hidden visibility; only declarations
 * marked KAFKA_API are exported. Static builds define KAFKA_STATIC (the
 * CMake package and pkg-config file do this for you when you link the
 * static archive), which turns the macro into nothing.
 */
#ifndef KAFKA_EXPORT_H
#define KAFKA_EXPORT_H

#if defined(KAFKA_STATIC)
#define KAFKA_API
#elif defined(_WIN32)
#if defined(KAFKA_BUILDING)
#define KAFKA_API __declspec(dllexport)
#else
#define KAFKA_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define KAFKA_API __attribute__((visibility("default")))
#else
#define KAFKA_API
#endif

#endif /* KAFKA_EXPORT_H */
