"""Operations tests: health, readiness and metrics over HTTP, streams, scripts; all against ibsim."""
