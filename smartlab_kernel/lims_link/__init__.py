"""The lab's link to its LIMS: every recipe run makes a sample, takes its stock, is recorded.

Beside :mod:`smartlab_kernel.management`, above the Lab core. Importing this
package registers the ``"lims"`` attachment, so ``Lab.simulated(lims=True)``
attaches a :class:`LimsLink`.
"""

from ..session.attachments import register_attachment
from .link import AUDIT_HEAD_KEY, DIED_REASON, MIXTURE, LimsLink, attach_lims

register_attachment("lims", attach_lims)

__all__ = ["AUDIT_HEAD_KEY", "DIED_REASON", "MIXTURE", "LimsLink", "attach_lims"]
