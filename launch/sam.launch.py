# Copyright 2026 The sam_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Launch the sam_ros node with config/sam.yaml and the common overrides.

    ros2 launch sam_ros sam.launch.py image:=/camera/color/image_raw
    ros2 launch sam_ros sam.launch.py model_type:=vit_b checkpoint:=/data/sam_vit_b.pth
    ros2 launch sam_ros sam.launch.py namespace:=robot1 camera_info:=/camera/color/camera_info
    ros2 launch sam_ros sam.launch.py fastdds_profile:=/path/to/my_profile.xml
    ros2 launch sam_ros sam.launch.py lifecycle:=true            # managed node, autostart
    ros2 launch sam_ros sam.launch.py lifecycle:=true autostart:=false

Launch arguments override the parameter file; every other parameter comes from
``params_file`` (default: the installed config/sam.yaml). Written to the ROS 2 launch
API (launch, launch_ros); needs a full ROS 2 install.

The node gets config/fastdds_large_shm.xml as its Fast DDS profile (8 MB shared-memory
segments: a three-mask result at 640 x 480 is 0.9 MB, above the default 512 KB), unless
FASTDDS_DEFAULT_PROFILES_FILE is already set or ``fastdds_profile`` names another file.

When the node exits on its own (a bad parameter, a checkpoint that cannot be loaded, a
crash), launch shuts down and says why (``sam_node exited: exit code 2: bad
configuration ...``) instead of idling on with nothing running.

``lifecycle:=true`` starts ``sam_lifecycle_node`` (the same node as a lifecycle node)
with launch_ros's ``LifecycleNode`` action. With ``autostart:=true`` (the default) launch
triggers configure, then activate once the node is inactive; a configure that fails
shuts launch down with the reason, as above. With ``autostart:=false`` the node waits
unconfigured for a lifecycle manager or ``ros2 lifecycle set /sam configure`` (then
``activate``).
"""

from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, LogInfo, RegisterEventHandler,
                            Shutdown)
from launch.conditions import IfCondition, UnlessCondition
from launch.event_handlers import OnProcessExit
from launch.events import matches_action
from launch.events.process import ProcessExited
from launch.substitutions import (AndSubstitution, EnvironmentVariable, LaunchConfiguration,
                                  PathJoinSubstitution)
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition
from sam_ros.node.exit_codes import describe_exit

_MODEL_TYPES = ['embedded', 'vit_t', 'vit_b', 'vit_l', 'vit_h', 'default']


def _on_node_exit(event: ProcessExited, context: LaunchContext) -> list:
    """Shut launch down with the reason when the node exits by itself."""
    if context.is_shutdown:
        return []       # launch is stopping the node (Ctrl-C): nothing to say
    reason = f'sam_node exited: {describe_exit(event.returncode)}'
    return [LogInfo(msg=f'[sam.launch] {reason}; shutting down launch'),
            Shutdown(reason=reason)]


def _change_state(node: LifecycleNode, transition: int, **kwargs) -> EmitEvent:
    return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                       transition_id=transition), **kwargs)


def _lifecycle_autostart(node: LifecycleNode, condition: IfCondition) -> list:
    """Configure ``node``, activate it once inactive; a failed configure ends launch."""
    reason = 'sam_lifecycle_node: configure failed (see its log); shutting down launch'
    return [
        RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node, goal_state='inactive',
            entities=[_change_state(node, Transition.TRANSITION_ACTIVATE)]),
            condition=condition),
        RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node, start_state='configuring', goal_state='unconfigured',
            entities=[LogInfo(msg=f'[sam.launch] {reason}'), Shutdown(reason=reason)]),
            condition=condition),
        _change_state(node, Transition.TRANSITION_CONFIGURE, condition=condition),
    ]


def generate_launch_description() -> LaunchDescription:
    """Return the launch description: the arguments and one sam_node (or lifecycle node)."""
    arguments = [
        DeclareLaunchArgument(
            'model_type', default_value='embedded', choices=_MODEL_TYPES,
            description='SAM variant; vit_* need a checkpoint'),
        DeclareLaunchArgument(
            'checkpoint', default_value='',
            description="Checkpoint file for vit_t/b/l/h ('' = embedded model's weights)"),
        DeclareLaunchArgument(
            'device', default_value='auto', description="'auto', 'cpu', 'cuda' or 'cuda:N'"),
        DeclareLaunchArgument(
            'image', default_value='/camera/image_raw',
            description='Camera image topic (the node subscribes to "image")'),
        DeclareLaunchArgument(
            'camera_info', default_value='/camera/camera_info',
            description='CameraInfo topic (for RViz /clicked_point)'),
        DeclareLaunchArgument(
            'depth', default_value='/camera/aligned_depth_to_color/image_raw',
            description='Depth image registered to the colour camera (16UC1 mm or 32FC1 m)'),
        DeclareLaunchArgument(
            'namespace', default_value='', description='Namespace of the node'),
        DeclareLaunchArgument(
            'click_topic', default_value='',
            description="rqt_image_view click topic ('' = <image>_mouse_left)"),
        DeclareLaunchArgument(
            'node_name', default_value='sam', description='Name of the node'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([FindPackageShare('sam_ros'), 'config',
                                                'sam.yaml']),
            description='Parameter file (all parameters, see docs/node.md)'),
        DeclareLaunchArgument(
            'fastdds_profile',
            default_value=EnvironmentVariable(
                'FASTDDS_DEFAULT_PROFILES_FILE',
                default_value=PathJoinSubstitution([FindPackageShare('sam_ros'), 'config',
                                                    'fastdds_large_shm.xml'])),
            description='Fast DDS XML profile of the node (default: $FASTDDS_DEFAULT_'
                        'PROFILES_FILE, else config/fastdds_large_shm.xml)'),
        DeclareLaunchArgument(
            'lifecycle', default_value='false', choices=['true', 'false'],
            description='Run the lifecycle (managed) node, sam_lifecycle_node'),
        DeclareLaunchArgument(
            'autostart', default_value='true', choices=['true', 'false'],
            description='With lifecycle:=true, configure and activate it at launch'),
    ]
    overrides = {
        name: ParameterValue(LaunchConfiguration(name), value_type=str)
        for name in ('model_type', 'checkpoint', 'device', 'click_topic')
    }
    common = {
        'package': 'sam_ros',
        'name': LaunchConfiguration('node_name'),
        'namespace': LaunchConfiguration('namespace'),
        'parameters': [LaunchConfiguration('params_file'), overrides],
        'remappings': [('image', LaunchConfiguration('image')),
                       ('camera_info', LaunchConfiguration('camera_info')),
                       ('depth', LaunchConfiguration('depth'))],
        'additional_env': {
            'FASTDDS_DEFAULT_PROFILES_FILE': LaunchConfiguration('fastdds_profile')},
        'output': 'screen',
        'emulate_tty': True,
    }
    lifecycle = LaunchConfiguration('lifecycle')
    node = Node(executable='sam_node', condition=UnlessCondition(lifecycle), **common)
    managed = LifecycleNode(executable='sam_lifecycle_node', condition=IfCondition(lifecycle),
                            **common)
    autostart = IfCondition(AndSubstitution(lifecycle, LaunchConfiguration('autostart')))
    on_exit = [RegisterEventHandler(OnProcessExit(target_action=managed, on_exit=_on_node_exit)),
               RegisterEventHandler(OnProcessExit(target_action=node, on_exit=_on_node_exit))]
    return LaunchDescription(arguments + [node, managed] + on_exit
                             + _lifecycle_autostart(managed, autostart))
