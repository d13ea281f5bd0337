"""EC2 additions (query protocol): DeleteNatGateway lets go of the gateway's Elastic IP as AWS does,
and CreateRouteTable honours its client token.

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

CreateRouteTable takes a `ClientToken` "to ensure the idempotency of the request"
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRouteTable.html; the SDKs fill it
once per call, so their retries carry it): a repeat with the same token answers with the table the
first request made, while it exists, and a repeat for another VPC is refused with
`IdempotentParameterMismatch` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Run_Instance_Idempotency.html).
moto 5.1.22 ignores the token and makes a second table.
"""

from moto.ec2 import urls as ec2_urls
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses import EC2Response
from moto.ec2.responses.nat_gateways import DELETE_NAT_GATEWAY_RESPONSE
from moto.ec2.responses.route_tables import CREATE_ROUTE_TABLE_RESPONSE

from .common import SettlesTransitions, extend_urls, timeline


class NatGatewayNotFound(EC2ClientError):
    def __init__(self, nat_gateway_id: str):
        super().__init__("NatGatewayNotFound", f"The Nat Gateway {nat_gateway_id} was not found")


class IdempotentParameterMismatch(EC2ClientError):
    def __init__(self, token: str):
        super().__init__("IdempotentParameterMismatch", f"The client token {token} was used with other parameters")


class EC2Extension(SettlesTransitions, EC2Response):
    def create_route_table(self) -> str:
        vpc_id = self._get_param("VpcId")
        token = self._get_param("ClientToken")
        # Tables made per client token, kept on the backend (one per account and region).
        made: dict = self.ec2_backend.__dict__.setdefault("route_tables_by_client_token", {})
        earlier = self.ec2_backend.route_tables.get(made.get(token, "")) if token else None
        if earlier is not None:
            if earlier.vpc_id != vpc_id:
                raise IdempotentParameterMismatch(token)
            return self.response_template(CREATE_ROUTE_TABLE_RESPONSE).render(route_table=earlier)
        tags = self._get_param("TagSpecifications", [])
        route_table = self.ec2_backend.create_route_table(vpc_id, (tags[0].get("Tags") or []) if tags else [])
        if token:
            made[token] = route_table.id
        return self.response_template(CREATE_ROUTE_TABLE_RESPONSE).render(route_table=route_table)

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
