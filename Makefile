# The four names users and tools rely on: make setup, make demo, make test, scripts/ros_env.sh.
.PHONY: setup demo test lint bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/run_demo.sh

test: setup
	@bash scripts/run_tests.sh

lint: setup
	@.venv/bin/ruff check .

clean:
	rm -rf build install log
