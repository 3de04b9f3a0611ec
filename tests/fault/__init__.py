"""The kill -9 fault suite: the real ``fieldbot run`` SIGKILLed under load and restarted, counted
from outside (see :mod:`tests.fault.harness` and :mod:`tests.fault.count`)."""
