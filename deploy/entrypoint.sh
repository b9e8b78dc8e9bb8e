#!/bin/sh
# Entry point of the project image: the first argument names the process, the rest are its options.
#
#   docker run --rm ibfutures-broker update-prices --frequencies D,H
#   docker run --rm ibfutures-broker help
#
# Each process is exec'ed (it becomes PID 1 of the container, or the child of `init: true`), so
# SIGTERM from `docker stop` reaches it and it stops at its next safe point (exit 143).
set -eu

usage() {
    cat <<'USAGE'
commands (the rest of the arguments are passed on):
  market-data-service   python -m sysproduction.market_data_service
  schedule              python -m sysproduction.schedule
  update-prices         python -m sysproduction.update_historical_prices
  seed-prices           python -m sysproduction.seed_price_data_from_IB
  check-prices          python -m sysproduction.check_price_data
  stack-handler         python -m sysproduction.example_stack_handler
  client-ids            python -m sysproduction.clientids
  ibsim                 python -m ibsim
  help                  this list
anything else is run as given (e.g. python, sh).
USAGE
}

command="${1:-help}"
[ "$#" -gt 0 ] && shift
case "$command" in
    market-data-service) exec python -m sysproduction.market_data_service "$@" ;;
    schedule)            exec python -m sysproduction.schedule "$@" ;;
    update-prices)       exec python -m sysproduction.update_historical_prices "$@" ;;
    seed-prices)         exec python -m sysproduction.seed_price_data_from_IB "$@" ;;
    check-prices)        exec python -m sysproduction.check_price_data "$@" ;;
    stack-handler)       exec python -m sysproduction.example_stack_handler "$@" ;;
    client-ids)          exec python -m sysproduction.clientids "$@" ;;
    ibsim)               exec python -m ibsim "$@" ;;
    help|--help|-h)      usage ;;
    *)                   exec "$command" "$@" ;;
esac
