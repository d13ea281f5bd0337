"""EC2 addition (query protocol): DeleteNatGateway lets go of the gateway's Elastic IP as AWS does.

On AWS (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteNatGateway.html and the
VPC user guide's "Delete a NAT gateway"), DeleteNatGateway answers with the gateway `deleting`;
when the deletion completes, minutes later, the gateway is `deleted` (still described for about an
hour) and its Elastic IP is disassociated — the address stays allocated, and until then a new
gateway cannot take it. moto 5.1.22 marks the gateway `deleted` at once and keeps the address
associated for good, so no gateway could ever reuse it: the double keeps the gateway `deleting`
for one transition delay (common.py), then marks it `deleted` and disassociates its addresses.
A gateway that is already deleting or deleted is answered as it is; an unknown id gets AWS's
`NatGatewayNotFound`. Creating a gateway with an address that is still associated is refused by
moto's own CreateNatGateway with `Resource.AlreadyAssociated`, unchanged.
"""

from moto.ec2 import urls as ec2_urls
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses import EC2Response
from moto.ec2.responses.nat_gateways import DELETE_NAT_GATEWAY_RESPONSE

from .common import SettlesTransitions, extend_urls, timeline


class NatGatewayNotFound(EC2ClientError):
    def __init__(self, nat_gateway_id: str):
        super().__init__("NatGatewayNotFound", f"The Nat Gateway {nat_gateway_id} was not found")


class EC2Extension(SettlesTransitions, EC2Response):
    def delete_nat_gateway(self) -> str:
        nat_gateway_id = self._get_param("NatGatewayId")
        backend = self.ec2_backend
        gateway = backend.nat_gateways.get(nat_gateway_id)
        if gateway is None:
            raise NatGatewayNotFound(nat_gateway_id)
        if gateway.state not in ("deleting", "deleted"):
            gateway.state = "deleting"
            allocation_ids = [address["allocationId"] for address in gateway.address_set if address.get("allocationId")]

            def deleted() -> None:
                gateway.state = "deleted"
                # An address released meanwhile is no longer there to let go of.
                for eip in [address for address in backend.addresses if address.allocation_id in allocation_ids]:
                    if eip.association_id:
                        backend.disassociate_address(association_id=eip.association_id)

            timeline.after_delay(deleted)
        return self.response_template(DELETE_NAT_GATEWAY_RESPONSE).render(nat_gateway=gateway)


def register() -> None:
    extend_urls(ec2_urls, EC2Extension)
