// brook: an embedded event store with Kafka's log model. Include this one header.
#pragma once

#include <brook/clock.hpp>
#include <brook/config.hpp>
#include <brook/consumer.hpp>
#include <brook/group_admin.hpp>
#include <brook/inspect.hpp>
#include <brook/message.hpp>
#include <brook/producer.hpp>
#include <brook/status.hpp>
#include <brook/store.hpp>
#include <brook/types.hpp>
