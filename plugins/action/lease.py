# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action plugin for hiero.solo.lease: the collection's only action plugin.

It does two things and nothing else:
- tells the module which process is ansible-playbook, so the keeper (state=held) can stop renewing
  once the playbook is gone and the holder identity names a PID that dies with the run. Task
  workers are forked from the ansible-playbook process, so the worker's parent PID is that process;
- declares async support, which ActionBase refuses by default (and the keeper must run async).
"""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # no longer has any effect

        wrap_async = self._task.async_val and not self._connection.has_native_async
        module_args = dict(self._task.args)
        module_args["_controller_pid"] = os.getppid()
        result = merge_hash(
            result,
            self._execute_module(module_args=module_args, task_vars=task_vars, wrap_async=wrap_async),
        )
        if not wrap_async:
            # async_wrapper removes its own files; otherwise the temporary path is ours to clean
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
